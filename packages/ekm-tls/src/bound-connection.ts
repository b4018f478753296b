import type { IncomingHttpHeaders } from "node:http";

/** One request on a {@link BoundConnection}. */
export interface BoundRequestOptions {
  /** Request target: an absolute path with optional query, e.g. `/v1/token`. No default. */
  path: string;
  /** HTTP method. Default: `"GET"`. */
  method?: string;
  /** Request headers. `host` is set from the connection's origin. Default: none. */
  headers?: Record<string, string | string[]>;
  /** Request body; a string is sent as UTF-8. `content-length` is set for you. Default: none. */
  body?: string | Uint8Array;
  /**
   * Aborts the request; it then rejects with the signal's `reason`. Aborting a request
   * that is already on the wire closes the connection (HTTP/1.1 cannot cancel one
   * response). Default: none.
   */
  signal?: AbortSignal;
  /**
   * Time for the whole exchange (queueing, sending, the complete response), in
   * milliseconds; 0 = no limit. Default: the connection's `requestTimeoutMs` (30,000).
   */
  timeoutMs?: number;
  /**
   * Largest response body accepted, in bytes; a larger one fails with
   * `ERR_RESPONSE_TOO_LARGE` and closes the connection. Default: the connection's
   * `maxResponseBytes` (1 MiB).
   */
  maxResponseBytes?: number;
}

/** A complete response, its body read into memory (bounded by `maxResponseBytes`). */
export interface BoundResponse {
  /** HTTP status code, e.g. `200`. */
  readonly statusCode: number;
  /** Response headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /** The response body. */
  readonly body: Buffer;
  /** The body decoded as UTF-8. */
  text(): string;
  /** The body parsed as JSON; throws `SyntaxError` when it is not JSON. Not validated: check its shape. */
  json<T = unknown>(): T;
}

/**
 * A TLS 1.3 connection whose keying material is known, and whose requests all travel on
 * that one connection. Once it closes (either side, reset, idle timeout, `close()`), every
 * request fails with `ERR_BOUND_CONNECTION_CLOSED`: it never reconnects, so a token bound
 * to `ekm` is never sent on another connection.
 */
export interface BoundConnection {
  /** Exported keying material of this connection, for the label, context and length asked for. */
  readonly ekm: Buffer;
  /** The `https:` origin this connection goes to, e.g. `https://broker.example:8443`. */
  readonly origin: string;
  /** `true` once the connection is closed or `close()` was called; requests then fail. */
  readonly closed: boolean;
  /** Sends one HTTP/1.1 request on this connection. Requests run one at a time, in order. */
  request(options: BoundRequestOptions): Promise<BoundResponse>;
  /** Waits for requests already made, then closes the connection. Idempotent. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
