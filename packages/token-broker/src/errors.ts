import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/** Options of {@link BrokerConfigError}. */
export interface BrokerConfigErrorOptions extends ConfspaceErrorOptions {
  /** Path of the offending field, e.g. `grants[1].azure[0].scopes`; `""` for the document itself. */
  field: string;
}

/**
 * The broker configuration is invalid: a field is missing, has the wrong type or value,
 * refers to something undefined (a tenant name), or a file or environment variable it
 * names cannot be read. Code `ERR_BROKER_CONFIG`.
 *
 * `field` is the path of the offending field (`grants[1].azure[0].scopes`) and the
 * message starts with it. Messages never repeat a configured value that could be a
 * secret: they name fields, files and environment variables, never their contents.
 *
 * @example
 * ```ts
 * try {
 *   await loadBrokerConfig("broker.yaml");
 * } catch (error) {
 *   if (error instanceof BrokerConfigError) console.error(`fix ${error.field}: ${error.message}`);
 * }
 * ```
 */
export class BrokerConfigError extends ConfspaceError {
  declare readonly code: "ERR_BROKER_CONFIG";
  /** Path of the offending field, e.g. `grants[1].azure[0].scopes`. */
  readonly field: string;

  constructor(message: string, options: BrokerConfigErrorOptions) {
    super("ERR_BROKER_CONFIG", options.field === "" ? message : `${options.field}: ${message}`, options);
    this.field = options.field;
  }
}
