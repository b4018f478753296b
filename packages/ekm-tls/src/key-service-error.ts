import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/** Codes of {@link KeyServiceError}. */
export type KeyServiceErrorCode =
  | "ERR_KEY_SERVICE_DENIED"
  | "ERR_KEY_SERVICE_REQUEST"
  | "ERR_KEY_SERVICE_UNAVAILABLE"
  | "ERR_KEY_SERVICE_TLS"
  | "ERR_KEY_SERVICE_PROTOCOL";

/** Options of {@link KeyServiceError}. */
export interface KeyServiceErrorOptions extends ConfspaceErrorOptions {
  /** HTTP status of the reply. Default: none (no reply). */
  status?: number;
  /** The service's `errors`, joined, at most 512 characters. Default: none. */
  description?: string;
}

/**
 * A call to the key service (the token broker's transit-compatible API, or OpenBao's own
 * transit engine) failed. `code`:
 *
 * - `ERR_KEY_SERVICE_DENIED`: 401 or 403, e.g. the certificate's grant does not list the key;
 * - `ERR_KEY_SERVICE_REQUEST`: 400 or 404: unknown key, a ciphertext of a retired or unknown
 *   version, tampered bytes, a malformed body;
 * - `ERR_KEY_SERVICE_UNAVAILABLE`: 5xx, unreachable, connection reset, no answer within `timeoutMs`;
 * - `ERR_KEY_SERVICE_TLS`: the server's certificate is not trusted or the client certificate was refused;
 * - `ERR_KEY_SERVICE_PROTOCOL`: an answer that is not the transit API (not JSON, fields missing).
 *
 * `description` holds the service's `errors` (by protocol free of secrets), kept out of
 * `message`; no plaintext, ciphertext or key is ever in either.
 */
export class KeyServiceError extends ConfspaceError {
  declare readonly code: KeyServiceErrorCode;
  /** The key service's origin. */
  readonly url: string;
  /** The operation, e.g. `decrypt`. */
  readonly operation: string;
  /** The key name the call used. */
  readonly keyName: string;
  /** HTTP status; `undefined` when no reply arrived. */
  readonly status: number | undefined;
  /** The service's `errors`, joined with `; `, at most 512 characters. */
  readonly description: string | undefined;

  constructor(
    code: KeyServiceErrorCode,
    url: string,
    operation: string,
    keyName: string,
    message: string,
    options: KeyServiceErrorOptions = {},
  ) {
    super(code, message, options);
    this.url = url;
    this.operation = operation;
    this.keyName = keyName;
    this.status = options.status;
    this.description = options.description;
  }
}

/**
 * A sealed state blob cannot be opened. Code `ERR_SEALED_STATE`; `reason`:
 * `format` (not a confspace sealed state of a known version), `key` (sealed under
 * another key name than the one given), `integrity` (tampered, or another `context`).
 * Key service failures while unwrapping are `KeyServiceError`s.
 */
export class SealedStateError extends ConfspaceError {
  declare readonly code: "ERR_SEALED_STATE";
  /** Why it cannot be opened. */
  readonly reason: "format" | "key" | "integrity";

  constructor(reason: "format" | "key" | "integrity", message: string, options?: ConfspaceErrorOptions) {
    super("ERR_SEALED_STATE", message, options);
    this.reason = reason;
  }
}
