import type { ConnectionOptions } from "node:tls";
import type { BoundConnection } from "./bound-connection.js";
import { EkmArgumentError } from "./errors.js";
import { type ExportKeyingMaterialOptions, exportKeyingMaterial } from "./export-keying-material.js";
import { isTimeoutMs } from "./internal/deadline.js";
import { toEkmParams } from "./internal/ekm-params.js";
import { loadUndici } from "./internal/load-undici.js";
import { checkTlsOptions, openTls13 } from "./internal/open-tls13.js";
import { PinnedConnection } from "./internal/pinned-connection.js";

/**
 * TLS options of a bound connection: `node:tls` connect options (`ca`, `cert`, `key`,
 * `servername`…) minus those fixed by the URL or by the binding. The version is always
 * TLS 1.3, ALPN is `http/1.1`, and the server certificate is always verified against the
 * URL's host: `checkServerIdentity` is refused, and `servername` is accepted only equal
 * to the URL's host name, or with a URL naming an IP address (to check the certificate
 * against that DNS name).
 */
export type BoundTlsOptions = Omit<
  ConnectionOptions,
  | "host"
  | "port"
  | "path"
  | "socket"
  | "secureProtocol"
  | "ALPNProtocols"
  | "timeout"
  | "minVersion"
  | "maxVersion"
  | "rejectUnauthorized"
  | "checkServerIdentity"
> & {
  /** Only `"TLSv1.3"` is accepted. Default: `"TLSv1.3"`. */
  minVersion?: "TLSv1.3";
  /** Only `"TLSv1.3"` is accepted. Default: `"TLSv1.3"`. */
  maxVersion?: "TLSv1.3";
  /** Only `true` is accepted: the server certificate is always verified. Default: `true`. */
  rejectUnauthorized?: true;
};

/** Options of {@link connectBound}: the exporter inputs, plus how to connect and limits. */
export interface ConnectBoundOptions extends ExportKeyingMaterialOptions {
  /**
   * TLS options: `ca` to trust a private CA (default: Node's root store), `cert` and `key`
   * for mTLS (default: none), `servername` (default: the URL's host name; another name
   * only with a URL naming an IP address)…
   */
  tls?: BoundTlsOptions;
  /** Time to connect and complete the TLS handshake, in milliseconds; 0 = no limit. Default: 10,000. */
  timeoutMs?: number;
  /** Aborts connecting; `connectBound` then rejects with the signal's `reason`. Default: none. */
  signal?: AbortSignal;
  /** Default time limit of each request, in milliseconds; 0 = no limit. Default: 30,000. */
  requestTimeoutMs?: number;
  /** Default cap on each response body, in bytes. Default: 1,048,576 (1 MiB). */
  maxResponseBytes?: number;
  /**
   * How long the connection may sit idle after a response before it is closed, in
   * milliseconds (a shorter server `Keep-Alive: timeout` hint wins). Default: 60,000.
   */
  idleTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/**
 * Opens a TLS 1.3 connection to an `https:` origin, verifies the server, exports keying
 * material, and returns a connection whose requests all travel on that one socket.
 * Bind a token to `ekm` (for example as an attestation nonce) and send it with
 * `request()`: if the connection closes, requests fail with `ERR_BOUND_CONNECTION_CLOSED`
 * instead of reconnecting.
 *
 * With mTLS on TLS 1.3, a server that rejects the client certificate says so after the
 * client has finished its handshake: the first request then fails with
 * `ERR_BOUND_CONNECTION_CLOSED`, its `cause` being the TLS alert.
 *
 * @throws {EkmError} `ERR_TLS_VERSION` when the server does not speak TLS 1.3.
 * @throws {BoundConnectionError} `ERR_CONNECT_FAILED` (unreachable, untrusted certificate…),
 *   `ERR_CONNECT_TIMEOUT`.
 * @throws {EkmArgumentError} on an invalid URL, label, context, length or TLS option.
 *
 * @example
 * ```ts
 * const conn = await connectBound("https://broker.example:8443", { label: BROKER_EKM_LABEL, context: audience, tls: { ca } });
 * try {
 *   const token = await mintToken({ nonce: brokerNonce(conn.ekm) });
 *   const res = await conn.request({ method: "POST", path: "/v1/token", body: JSON.stringify({ attestation_token: token }) });
 * } finally {
 *   await conn.close();
 * }
 * ```
 */
export async function connectBound(url: string | URL, options: ConnectBoundOptions): Promise<BoundConnection> {
  const target = toHttpsOrigin(url);
  const ekmOptions = toEkmParams(options);
  const tls = options.tls ?? {};
  checkTlsOptions(tls as ConnectionOptions, target);
  const timeoutMs = timeoutOption("timeoutMs", options.timeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const requestTimeoutMs = timeoutOption("requestTimeoutMs", options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
  const idleTimeoutMs = timeoutOption("idleTimeoutMs", options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 0) {
    throw new EkmArgumentError("maxResponseBytes", "maxResponseBytes must be a non-negative integer number of bytes");
  }

  // Before the socket opens: the connection must be built synchronously in secureConnect.
  const { Client } = await loadUndici();
  return openTls13({ url: target, tls: tls as ConnectionOptions, timeoutMs, signal: options.signal }, (socket) => {
    const ekm = exportKeyingMaterial(socket, ekmOptions);
    return new PinnedConnection(socket, ekm, {
      origin: target.origin,
      requestTimeoutMs,
      maxResponseBytes,
      idleTimeoutMs,
      Client,
    });
  });
}

function toHttpsOrigin(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new EkmArgumentError("url", "url must be an absolute https: URL such as https://broker.example:8443", {
      cause: error,
    });
  }
  if (parsed.protocol !== "https:") {
    throw new EkmArgumentError("url", `url must use https: (got ${parsed.protocol}); keying material needs TLS`);
  }
  // Nothing in the URL may be silently dropped: requests name their own path.
  if (parsed.username !== "" || parsed.password !== "" || parsed.pathname !== "/" || parsed.search || parsed.hash) {
    throw new EkmArgumentError(
      "url",
      "url must be an origin (https://host[:port]) without credentials, path, query or fragment; pass the path to request()",
    );
  }
  return parsed;
}

function timeoutOption(name: string, value: number | undefined, fallback: number): number {
  const ms = value ?? fallback;
  if (!isTimeoutMs(ms)) {
    throw new EkmArgumentError(name, `${name} must be a number of milliseconds from 0 (no limit) to 2147483647`);
  }
  return ms;
}
