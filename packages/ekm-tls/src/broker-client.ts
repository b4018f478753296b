import { type AttestationTokenSource, LauncherClient } from "@confspace/attestation";
import type { BoundConnection, BoundResponse } from "./bound-connection.js";
import { brokerEkmOptions, brokerNonce } from "./broker-binding.js";
import { BrokerError } from "./broker-error.js";
import { type BoundTlsOptions, connectBound } from "./connect-bound.js";
import { EkmArgumentError } from "./errors.js";
import { connectError, exchangeError, readReply } from "./internal/broker-reply.js";
import { isTimeoutMs, startDeadline } from "./internal/deadline.js";
import { BROKER_TOKEN_PATH, type BrokerReply, type BrokerRequestBody, type UncheckedReply } from "./protocol.js";

/** Environment variable naming the token broker's URL (`https://broker.example:8443`), read by the credentials. */
export const BROKER_URL_ENV = "CONFSPACE_BROKER_URL";
/** Environment variable naming the broker's attestation audience (its `attestation.audience`), read by the credentials. */
export const BROKER_AUDIENCE_ENV = "CONFSPACE_BROKER_AUDIENCE";

/** Attestation token formats a broker verifies. */
export type BrokerTokenType = "OIDC" | "PKI";

/** Options of {@link requestBrokerCredential}; `B` is the body's provider shape. */
export interface BrokerCredentialRequest<B extends BrokerRequestBody = BrokerRequestBody> {
  /** The broker's `https:` origin, e.g. `https://broker.example:8443`. Required. */
  brokerUrl: string | URL;
  /** The broker's attestation audience: the token's `aud` and the exporter context. Required. */
  audience: string;
  /**
   * Where the bound attestation token comes from: any source whose `getToken({ nonces })`
   * returns a fresh token for `audience` carrying exactly those nonces (e.g.
   * `customTokenSource({ audience })`). Not with `launcher`. Default: `launcher`.
   */
  tokenSource?: AttestationTokenSource;
  /** The launcher to ask for the token. Not with `tokenSource`. Default: a `LauncherClient` (env `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket). */
  launcher?: LauncherClient;
  /** Token format the broker verifies (its `attestation.tokenType`), used with `launcher`. Default `"OIDC"`. */
  tokenType?: BrokerTokenType;
  /** TLS options: `ca` for a private broker CA (default Node's roots), `cert`/`key` for mutual TLS (default none). Always TLS 1.3. */
  tls?: BoundTlsOptions;
  /** Request fields besides `attestation_token`, e.g. `{ provider: "azure", scope }` (protocol v1, `BrokerRequestBody`). Required. */
  body: B;
  /** Abandons the exchange; it then rejects with the signal's `reason`. Default: none. */
  signal?: AbortSignal;
  /** Time for the whole exchange (connect, token, reply), in milliseconds; 0 = no limit. Default 30 000. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_REPLY_BYTES = 65_536;

/**
 * The workload side of the token broker protocol v1 (shared by the Azure and AWS
 * credentials): opens a TLS 1.3 connection to the broker, asks for an attestation token
 * whose single nonce is that connection's keying material (`brokerNonce`), sends
 * `POST /v1/token {"attestation_token", ...body}` on the same connection, and returns the
 * broker's JSON reply, unchecked: every field typed `unknown` (the caller validates it).
 * The connection is closed afterwards; the token is never cached, logged or sent anywhere else.
 *
 * Launcher errors (`LauncherUnavailableError` outside Confidential Space, `LauncherError`)
 * and argument errors (`EkmArgumentError`, `InvalidTokenRequestError`) are thrown as they
 * are; everything about the broker is a {@link BrokerError}.
 *
 * @example
 * ```ts
 * const reply = await requestBrokerCredential({
 *   brokerUrl: "https://broker.example:8443",
 *   audience: "https://broker.example",
 *   body: { provider: "azure", scope: "https://storage.azure.com/.default" },
 * });
 * ```
 */
export async function requestBrokerCredential<B extends BrokerRequestBody>(
  options: BrokerCredentialRequest<B>,
): Promise<UncheckedReply<BrokerReply<B["provider"]>>> {
  const { brokerUrl, audience, body, tls } = options;
  if (body === null || typeof body !== "object" || Array.isArray(body) || "attestation_token" in body) {
    throw new EkmArgumentError("body", "body must be an object of request fields without attestation_token");
  }
  if (options.tokenSource !== undefined && options.launcher !== undefined) {
    throw new EkmArgumentError("tokenSource", "pass tokenSource or launcher, not both");
  }
  const tokenType = options.tokenType ?? "OIDC";
  if (tokenType !== "OIDC" && tokenType !== "PKI") {
    throw new EkmArgumentError(
      "tokenType",
      'tokenType must be "OIDC" or "PKI", as the broker\'s attestation.tokenType',
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!isTimeoutMs(timeoutMs)) {
    throw new EkmArgumentError("timeoutMs", "timeoutMs must be a number of milliseconds, 0 for no limit");
  }
  const ekmOptions = brokerEkmOptions(audience);
  const origin = originOf(brokerUrl);
  const deadline = startDeadline(
    options.signal,
    timeoutMs,
    () =>
      new BrokerError(
        "ERR_BROKER_UNAVAILABLE",
        origin,
        `No answer from the token broker at ${origin} within ${timeoutMs} ms; check that it is reachable, or raise timeoutMs`,
      ),
  );
  const signal = deadline.signal;
  try {
    let conn: BoundConnection;
    try {
      conn = await connectBound(brokerUrl, {
        ...ekmOptions,
        tls,
        signal,
        timeoutMs: 0,
        requestTimeoutMs: 0,
        maxResponseBytes: MAX_REPLY_BYTES,
      });
    } catch (error) {
      throw connectError(error, origin, signal);
    }
    try {
      const nonces = [brokerNonce(conn.ekm)];
      const token = await raceAbort(
        options.tokenSource !== undefined
          ? options.tokenSource.getToken({ nonces, signal })
          : (options.launcher ?? new LauncherClient()).requestToken({ audience, nonces, tokenType, signal }),
        signal,
      );
      if (typeof token !== "string" || token === "") {
        throw new EkmArgumentError(
          "tokenSource",
          "the token source must resolve to an attestation token (a compact JWT)",
        );
      }
      let response: BoundResponse;
      try {
        response = await conn.request({
          method: "POST",
          path: BROKER_TOKEN_PATH,
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ attestation_token: token, ...body }),
          signal,
        });
      } catch (error) {
        throw exchangeError(error, origin, signal);
      }
      return readReply(response, origin);
    } finally {
      await conn.close();
    }
  } finally {
    deadline.dispose();
  }
}

function originOf(url: string | URL): string {
  try {
    return new URL(url).origin;
  } catch (error) {
    throw new EkmArgumentError("brokerUrl", "brokerUrl must be an https: URL such as https://broker.example:8443", {
      cause: error,
    });
  }
}

/** Rejects with the signal's reason as soon as it aborts, even if `promise` ignores the signal. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const aborted = Promise.withResolvers<never>();
  const onAbort = () => aborted.reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  promise.catch(() => {});
  return Promise.race([promise, aborted.promise]).finally(() => signal.removeEventListener("abort", onAbort));
}
