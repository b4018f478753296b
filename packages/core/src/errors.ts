/**
 * Brand shared by every copy of `@confspace/core` that is loaded in one process, so
 * `instanceof` keeps working when a dependency tree holds two installs of core.
 */
const BRAND = Symbol.for("@confspace/core/error");

/** Options accepted by every confspace error constructor. */
export interface ConfspaceErrorOptions {
  /** The underlying error. Kept as is: its message is never rewritten. */
  cause?: unknown;
}

/**
 * Base class of every error confspace throws. `code` is a stable string
 * (`ERR_LAUNCHER_UNAVAILABLE`, `ERR_ATTESTATION_POLICY`, …) that is safe to branch on.
 *
 * Messages never contain a token, a secret, a private key or an upstream response body.
 *
 * @example
 * ```ts
 * try {
 *   await credential.getToken(scope);
 * } catch (error) {
 *   if (error instanceof ConfspaceError && error.code === "ERR_BROKER_UNAVAILABLE") retryLater();
 *   else throw error;
 * }
 * ```
 */
export class ConfspaceError extends Error {
  /** Stable machine-readable code, e.g. `ERR_TOKEN_UNAVAILABLE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ConfspaceErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    // Record every class name from the concrete class up to ConfspaceError, so a
    // check against a class from another copy of the package can still match.
    const names: string[] = [];
    for (let proto = new.target.prototype; proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
      names.push(proto.constructor.name);
    }
    Object.defineProperty(this, BRAND, { value: names, enumerable: false });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: polymorphic on purpose, `this` is the class being checked.
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== "object" || value === null) return false;
    const names = (value as { [BRAND]?: unknown })[BRAND];
    // biome-ignore lint/complexity/noThisInStatic: polymorphic on purpose, so each subclass checks its own name.
    return Array.isArray(names) && names.includes(this.name);
  }
}

/**
 * "This credential source is not available here; try another one" (no launcher
 * socket, no token file, not running in Confidential Space). Distinct from an error
 * of a source that is configured and failed, which callers should not paper over.
 */
export class CredentialUnavailableError extends ConfspaceError {
  constructor(code: string, message: string, options?: ConfspaceErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A cached credential has no usable value and the engine is backing off after a
 * failed refresh. `cause` is the error of the last attempt; `retryAfterMs` says when
 * the next attempt may start.
 */
export class TokenUnavailableError extends ConfspaceError {
  /** Milliseconds until the next upstream attempt is allowed. */
  readonly retryAfterMs: number;

  constructor(message: string, options: ConfspaceErrorOptions & { retryAfterMs: number }) {
    super("ERR_TOKEN_UNAVAILABLE", message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * An option is missing, malformed or contradicts another. `option` names it; `envVars`
 * lists the environment variables that could have supplied it. Thrown when a credential or
 * client is constructed, never at call time. Code `ERR_INVALID_OPTION`.
 */
export class InvalidOptionError extends ConfspaceError {
  declare readonly code: "ERR_INVALID_OPTION";
  /** The option at fault, e.g. `brokerUrl`. */
  readonly option: string;
  /** Environment variables that could have supplied it, e.g. `["CONFSPACE_BROKER_URL"]`; empty when none. */
  readonly envVars: readonly string[];

  constructor(option: string, message: string, envVars?: string | readonly string[]) {
    super("ERR_INVALID_OPTION", message);
    this.option = option;
    this.envVars = envVars === undefined ? [] : typeof envVars === "string" ? [envVars] : [...envVars];
  }

  /** The first of {@link InvalidOptionError.envVars}, or `undefined`. */
  get envVar(): string | undefined {
    return this.envVars[0];
  }
}
