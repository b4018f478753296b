import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/** Codes of {@link BrokerError}. */
export type BrokerErrorCode =
  | "ERR_BROKER_DENIED"
  | "ERR_BROKER_RATE_LIMITED"
  | "ERR_BROKER_UNAVAILABLE"
  | "ERR_BROKER_TLS"
  | "ERR_BROKER_REQUEST"
  | "ERR_BROKER_PROTOCOL";

/** Options of {@link BrokerError}. */
export interface BrokerErrorOptions extends ConfspaceErrorOptions {
  /** HTTP status of the broker's reply. Default: none (no reply). */
  status?: number;
  /** The broker's `error` code. Default: none. */
  error?: string;
  /** The failed attestation check of a 401. Default: none. */
  check?: string;
  /** The broker's `error_description`. Default: none. */
  description?: string;
  /** From `Retry-After`, in milliseconds. Default: none. */
  retryAfterMs?: number;
}

/**
 * The token broker refused or could not be used. `code`:
 *
 * - `ERR_BROKER_DENIED`: 401 (attestation failed; `check` names the verifier check, e.g.
 *   `image_digest`, `nonce`) or 403 (verified, but no grant gives what was asked).
 * - `ERR_BROKER_RATE_LIMITED`: 429; `retryAfterMs`.
 * - `ERR_BROKER_UNAVAILABLE`: 503 or another 5xx (`retryAfterMs` when the broker sent
 *   `Retry-After`), the broker unreachable or closing the connection, or no answer in time.
 * - `ERR_BROKER_TLS`: no TLS 1.3, untrusted or mismatching certificate, client
 *   certificate refused; `cause` is the ekm-tls error.
 * - `ERR_BROKER_REQUEST`: 400 or 413, the broker found the request malformed.
 * - `ERR_BROKER_PROTOCOL`: an answer that is not the broker protocol (bad JSON, 404…).
 *
 * Never carries the attestation token or a credential; `description` is the broker's
 * `error_description` (which by protocol holds no secret), kept out of `message`.
 */
export class BrokerError extends ConfspaceError {
  declare readonly code: BrokerErrorCode;
  /** The broker's origin, e.g. `https://broker.example:8443`. */
  readonly brokerUrl: string;
  /** HTTP status of the broker's reply; `undefined` when none arrived. */
  readonly status: number | undefined;
  /** The broker's `error` (`invalid_token`, `access_denied`, `rate_limited`…); `undefined` without one. */
  readonly error: string | undefined;
  /** The failed attestation check from a 401 (`image_digest`, `nonce`, `audience`, `dbgstat`…). */
  readonly check: string | undefined;
  /** The broker's `error_description`, at most 512 characters. */
  readonly description: string | undefined;
  /** When the broker says to try again, in milliseconds (from `Retry-After`). */
  readonly retryAfterMs: number | undefined;

  constructor(code: BrokerErrorCode, brokerUrl: string, message: string, options: BrokerErrorOptions = {}) {
    super(code, message, options);
    this.brokerUrl = brokerUrl;
    this.status = options.status;
    this.error = options.error;
    this.check = options.check;
    this.description = options.description;
    this.retryAfterMs = options.retryAfterMs;
  }
}
