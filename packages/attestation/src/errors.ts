import { ConfspaceError, type ConfspaceErrorOptions, CredentialUnavailableError } from "@confspace/core";

/** Options of {@link LauncherError}. */
export interface LauncherErrorOptions extends ConfspaceErrorOptions {
  /** HTTP status of the launcher's reply, when there was one. */
  status?: number;
  /** The launcher's plain-text reply, length-capped. The launcher's error texts carry no secrets. */
  launcherMessage?: string;
}

/**
 * The launcher socket is there but a request failed: a 4xx/5xx reply
 * (`ERR_LAUNCHER_REQUEST`, with `status` and `launcherMessage`), no reply in time
 * (`ERR_LAUNCHER_TIMEOUT`), or a reply that is not a plausible token
 * (`ERR_LAUNCHER_RESPONSE`). Never carries the token.
 */
export class LauncherError extends ConfspaceError {
  /** HTTP status of the launcher's reply; `undefined` when none arrived. */
  readonly status: number | undefined;
  /** The launcher's plain-text reply (capped at 512 characters); `undefined` when none arrived. */
  readonly launcherMessage: string | undefined;

  constructor(code: string, message: string, options?: LauncherErrorOptions) {
    super(code, message, options);
    this.status = options?.status;
    this.launcherMessage = options?.launcherMessage;
  }
}

/**
 * No launcher socket here (`ENOENT`, or nobody listening): not running in Confidential
 * Space, or the socket path is wrong. Code `ERR_LAUNCHER_UNAVAILABLE`. A credential
 * chain may move on to another source.
 */
export class LauncherUnavailableError extends CredentialUnavailableError {
  /** The socket path that was tried. */
  readonly socketPath: string;

  constructor(socketPath: string, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_LAUNCHER_UNAVAILABLE", message, options);
    this.socketPath = socketPath;
  }
}

/**
 * A token request was refused before anything was sent: `field` names the offending
 * input (`audience`, `nonces[2]`, `tokenType`, `awsPrincipalTagKeyIds`). Code
 * `ERR_INVALID_TOKEN_REQUEST`.
 */
export class InvalidTokenRequestError extends ConfspaceError {
  /** The request field at fault, e.g. `nonces[2]`. */
  readonly field: string;

  constructor(field: string, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_INVALID_TOKEN_REQUEST", message, options);
    this.field = field;
  }
}

/**
 * The token file exists but holds no usable token (`ERR_TOKEN_FILE_INVALID`: empty,
 * partly written, not a JWT, no `exp`) or cannot be read (`ERR_TOKEN_FILE_UNREADABLE`).
 * Nothing is cached: the next call reads the file again.
 */
export class TokenFileError extends ConfspaceError {
  /** The token file's path. */
  readonly path: string;

  constructor(code: string, path: string, message: string, options?: ConfspaceErrorOptions) {
    super(code, message, options);
    this.path = path;
  }
}

/**
 * The only token at hand is expired or about to be (within the skew), and no fresh one
 * could be obtained. Code `ERR_TOKEN_EXPIRED`. An expired token is never returned.
 */
export class TokenExpiredError extends ConfspaceError {
  /** When the token expired or expires, in ms since the epoch. */
  readonly expiresAt: number;

  constructor(expiresAt: number, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_TOKEN_EXPIRED", message, options);
    this.expiresAt = expiresAt;
  }
}

/** A string is not a decodable JWT (see {@link decodeClaims}). Code `ERR_TOKEN_MALFORMED`. */
export class TokenMalformedError extends ConfspaceError {
  constructor(message: string, options?: ConfspaceErrorOptions) {
    super("ERR_TOKEN_MALFORMED", message, options);
  }
}
