import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/**
 * The bootstrap configuration (or a command-line option) is invalid: an unknown key, a
 * missing or mistyped field, a reference scheme that does not exist. `path` is where, in
 * the file (`secrets[2].collaborator`). Nothing was resolved and nothing was started.
 * Code `ERR_BOOTSTRAP_CONFIG`.
 */
export class BootstrapConfigError extends ConfspaceError {
  /** Where the problem is: `secrets[0].from`, `azure.brokerUrl`, or the option `--role`. */
  readonly path: string;

  constructor(path: string, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_BOOTSTRAP_CONFIG", `${path || "config"}: ${message}`, options);
    this.path = path;
  }
}

/** Options of {@link SecretResolutionError}. */
export interface SecretResolutionErrorOptions extends ConfspaceErrorOptions {
  /** The secret's `name` in the configuration. */
  secret: string;
  /** Its reference scheme (`gcp-kms`, `vault-kv`). */
  scheme: string;
}

/**
 * One secret could not be resolved or delivered, so the app was not started. The
 * message names the secret and its scheme, never its value; `cause` is the credential
 * package's typed error (`GoogleApiError`, `VaultError`, …). Code `ERR_SECRET_UNAVAILABLE`.
 */
export class SecretResolutionError extends ConfspaceError {
  readonly secret: string;
  readonly scheme: string;

  constructor(message: string, options: SecretResolutionErrorOptions) {
    super("ERR_SECRET_UNAVAILABLE", message, options);
    this.secret = options.secret;
    this.scheme = options.scheme;
  }
}

/**
 * The place a secret file would be written is unsafe: the directory is readable or
 * writable by others, not a directory, or (by default) not on tmpfs. Code
 * `ERR_SECRET_TARGET`.
 */
export class SecretTargetError extends ConfspaceError {
  /** The refused path. */
  readonly target: string;

  constructor(target: string, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_SECRET_TARGET", message, options);
    this.target = target;
  }
}

/**
 * The app could not be started (`ENOENT`: no such command, `EACCES`: not executable).
 * `exitCode` follows the shell: 127 for a missing command, 126 otherwise. Code `ERR_COMMAND_START`.
 */
export class CommandStartError extends ConfspaceError {
  /** The command as given after `--`. */
  readonly command: string;
  readonly exitCode: number;

  constructor(command: string, options: ConfspaceErrorOptions & { errno?: string }) {
    super("ERR_COMMAND_START", `cannot start ${command}: ${options.errno ?? "error"}`, options);
    this.command = command;
    this.exitCode = options.errno === "ENOENT" ? 127 : 126;
  }
}
