import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/** Codes of {@link EkmError}. */
export type EkmErrorCode = "ERR_TLS_VERSION" | "ERR_TLS_STATE";

/** Options of {@link EkmError}. */
export interface EkmErrorOptions extends ConfspaceErrorOptions {
  /** The negotiated TLS version (`"TLSv1.2"`…), `null` when there is none (no handshake, not TLS). */
  protocol?: string | null;
}

/**
 * Keying material cannot be exported from this connection:
 *
 * - `ERR_TLS_VERSION`: the connection is not TLS 1.3 (or the peer refused TLS 1.3 during
 *   the handshake). Exporters on TLS 1.2 are only safe with the extended master secret
 *   (RFC 7627), and Node cannot tell whether it was negotiated, so TLS 1.2 is refused.
 *   Configure the peer for TLS 1.3.
 * - `ERR_TLS_STATE`: the handshake has not completed, the socket is closed or destroyed,
 *   or the request did not arrive over TLS.
 *
 * `protocol` holds the negotiated version when one is known.
 */
export class EkmError extends ConfspaceError {
  declare readonly code: EkmErrorCode;
  /** The negotiated TLS version (`"TLSv1.2"`…); `null` when none is known. */
  readonly protocol: string | null;

  constructor(code: EkmErrorCode, message: string, options?: EkmErrorOptions) {
    super(code, message, options);
    this.protocol = options?.protocol ?? null;
  }
}

/**
 * An argument was refused before anything was exported or sent. Code
 * `ERR_EKM_INVALID_ARGUMENT`; `argument` names the one at fault (`label`, `context`,
 * `length`, `url`, `tls`, `path`, `ekm`…).
 */
export class EkmArgumentError extends ConfspaceError {
  declare readonly code: "ERR_EKM_INVALID_ARGUMENT";
  /** The argument or option at fault, e.g. `label`. */
  readonly argument: string;

  constructor(argument: string, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_EKM_INVALID_ARGUMENT", message, options);
    this.argument = argument;
  }
}

/** Codes of {@link BoundConnectionError}. */
export type BoundConnectionErrorCode =
  | "ERR_CONNECT_FAILED"
  | "ERR_CONNECT_TIMEOUT"
  | "ERR_BOUND_CONNECTION_CLOSED"
  | "ERR_REQUEST_TIMEOUT"
  | "ERR_REQUEST_FAILED"
  | "ERR_RESPONSE_TOO_LARGE";

/** Options of {@link BoundConnectionError}. */
export interface BoundConnectionErrorOptions extends ConfspaceErrorOptions {
  /** Size limit that was exceeded, in bytes (`ERR_RESPONSE_TOO_LARGE`). */
  limitBytes?: number;
  /** Time limit that ran out, in milliseconds (`ERR_CONNECT_TIMEOUT`, `ERR_REQUEST_TIMEOUT`). */
  timeoutMs?: number;
}

/**
 * A bound connection could not be opened or used:
 *
 * - `ERR_CONNECT_FAILED`: TCP connect or TLS handshake failed (unreachable host, untrusted
 *   or mismatching server certificate…); `cause` is Node's error.
 * - `ERR_CONNECT_TIMEOUT`: no completed handshake within `timeoutMs`.
 * - `ERR_BOUND_CONNECTION_CLOSED`: the socket the keying material came from is gone
 *   (closed by either side, reset, idle timeout, `close()`). Requests are never sent on a
 *   new connection: open a new bound connection and bind a new token to its `ekm`.
 * - `ERR_REQUEST_TIMEOUT`: no complete response within the request's `timeoutMs`.
 * - `ERR_REQUEST_FAILED`: the HTTP exchange failed on a live connection (malformed
 *   response…); `cause` is undici's error.
 * - `ERR_RESPONSE_TOO_LARGE`: the response body is larger than `maxResponseBytes`.
 *
 * The last three close the connection: HTTP/1.1 cannot drop one response and go on.
 */
export class BoundConnectionError extends ConfspaceError {
  declare readonly code: BoundConnectionErrorCode;
  /** The `https:` origin of the connection, e.g. `https://broker.example:8443`. */
  readonly origin: string;
  /** Size limit that was exceeded, in bytes; set with `ERR_RESPONSE_TOO_LARGE`. */
  readonly limitBytes: number | undefined;
  /** Time limit that ran out, in milliseconds; set with the `*_TIMEOUT` codes. */
  readonly timeoutMs: number | undefined;

  constructor(code: BoundConnectionErrorCode, origin: string, message: string, options?: BoundConnectionErrorOptions) {
    super(code, message, options);
    this.origin = origin;
    this.limitBytes = options?.limitBytes;
    this.timeoutMs = options?.timeoutMs;
  }
}
