// Turns what happened on the wire into BrokerError: connection and TLS failures, and the
// broker's error replies ({"error","error_description","check"?} with Retry-After).
import type { BoundResponse } from "../bound-connection.js";
import { BrokerError, type BrokerErrorCode } from "../broker-error.js";
import { BoundConnectionError, EkmError } from "../errors.js";

// Node's network-level errors: the broker is not reachable (as opposed to TLS failures).
const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ECONNABORTED)$/;

function causeCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === "string" ? cause.code : "";
}

export function connectError(error: unknown, origin: string, signal: AbortSignal): unknown {
  if (signal.aborted && error === signal.reason) return error;
  if (error instanceof EkmError && error.code === "ERR_TLS_VERSION") {
    return new BrokerError(
      "ERR_BROKER_TLS",
      origin,
      `The token broker at ${origin} does not speak TLS 1.3, which the broker protocol requires (the token is bound to TLS 1.3 keying material); enable TLS 1.3 on the broker, and make any load balancer in front of it TCP passthrough`,
      { cause: error },
    );
  }
  if (error instanceof BoundConnectionError) {
    const code = causeCode(error);
    if (NETWORK_CODES.test(code) || error.code === "ERR_CONNECT_TIMEOUT") {
      return new BrokerError(
        "ERR_BROKER_UNAVAILABLE",
        origin,
        `Cannot reach the token broker at ${origin} (${code || error.code}); check brokerUrl and that the broker is running`,
        { cause: error },
      );
    }
    return new BrokerError(
      "ERR_BROKER_TLS",
      origin,
      `The TLS handshake with the token broker at ${origin} failed${code ? ` (${code})` : ""}; check that ca trusts the broker's certificate and that the certificate names the host in brokerUrl`,
      { cause: error },
    );
  }
  return error;
}

export function exchangeError(error: unknown, origin: string, signal: AbortSignal): unknown {
  if (signal.aborted && error === signal.reason) return error;
  if (!(error instanceof BoundConnectionError)) return error;
  const code = causeCode(error);
  if (error.code === "ERR_BOUND_CONNECTION_CLOSED" && code.startsWith("ERR_SSL_")) {
    return new BrokerError(
      "ERR_BROKER_TLS",
      origin,
      `The token broker at ${origin} ended the TLS connection (${code}); if it requires mutual TLS, pass a client certificate it trusts`,
      { cause: error },
    );
  }
  if (error.code === "ERR_RESPONSE_TOO_LARGE" || error.code === "ERR_REQUEST_FAILED") {
    return new BrokerError(
      "ERR_BROKER_PROTOCOL",
      origin,
      `The answer from ${origin} is not a token broker reply (${error.code}); check that brokerUrl names a confspace token broker`,
      { cause: error },
    );
  }
  return new BrokerError(
    "ERR_BROKER_UNAVAILABLE",
    origin,
    `The token broker at ${origin} closed the connection without answering; retry later`,
    { cause: error },
  );
}

export function readReply(response: BoundResponse, origin: string): Record<string, unknown> {
  const status = response.statusCode;
  let json: unknown;
  try {
    json = response.json();
  } catch {
    json = undefined;
  }
  const object =
    json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  if (status === 200) {
    if (object === undefined) {
      throw new BrokerError(
        "ERR_BROKER_PROTOCOL",
        origin,
        `The token broker at ${origin} answered 200 without a JSON object; check that brokerUrl names a confspace token broker`,
        { status },
      );
    }
    return object;
  }
  const fields = {
    status,
    error: safeWord(object?.error),
    check: safeWord(object?.check),
    description: typeof object?.error_description === "string" ? object.error_description.slice(0, 512) : undefined,
    retryAfterMs: retryAfterMs(response.headers["retry-after"]),
  };
  const said = fields.error === undefined ? `HTTP ${status}` : `${fields.error}, HTTP ${status}`;
  const retry = fields.retryAfterMs === undefined ? "retry later" : `retry in ${fields.retryAfterMs} ms`;
  if (status === 401) {
    const what = fields.check === undefined ? "" : ` (check "${fields.check}" failed: ${checkHint(fields.check)})`;
    return rejectWith("ERR_BROKER_DENIED", `refused this workload's attestation${what} [${said}]`);
  }
  if (status === 403) {
    return rejectWith(
      "ERR_BROKER_DENIED",
      `verified this workload but no grant gives it what was asked [${said}]; ask the broker's operator to grant it (see description)`,
    );
  }
  if (status === 429)
    return rejectWith("ERR_BROKER_RATE_LIMITED", `is rate-limiting this workload [${said}]; ${retry}`);
  if (status === 400 || status === 413) {
    return rejectWith(
      "ERR_BROKER_REQUEST",
      `found the request invalid [${said}]; are the broker and this SDK on the same protocol version?`,
    );
  }
  if (status >= 500) return rejectWith("ERR_BROKER_UNAVAILABLE", `cannot issue credentials now [${said}]; ${retry}`);
  return rejectWith("ERR_BROKER_PROTOCOL", `answered [${said}], which is not the broker protocol; check brokerUrl`);

  function rejectWith(code: BrokerErrorCode, text: string): never {
    throw new BrokerError(code, origin, `The token broker at ${origin} ${text}`, fields);
  }
}

/** Hints for the checks a workload can act on; the rest point at the broker's policy. */
function checkHint(check: string): string {
  switch (check) {
    case "image_digest":
      return "this container image is not approved by the broker's policy";
    case "nonce":
      return "the token is not bound to this TLS connection; a TLS-terminating proxy in front of the broker breaks the binding, use TCP passthrough";
    case "audience":
      return "audience is not the broker's attestation.audience";
    case "dbgstat":
      return "debug images are refused";
    case "support_attributes":
      return "the Confidential Space image is not a supported (STABLE) one";
    case "issuer":
    case "signature":
    case "unknown_key":
    case "root_fingerprint":
      return "the token does not come from the issuer the broker trusts";
    case "expired":
    case "not_yet_valid":
    case "too_old":
    case "issued_in_future":
      return "the token's time claims are refused; check the clocks";
    case "project":
    case "service_account":
    case "hwmodel":
    case "restart_policy":
      return "this workload's deployment is not approved by the broker's policy";
    default:
      return "the workload does not satisfy the broker's policy";
  }
}

/** Keeps identifier-like fields only, so a hostile reply cannot put arbitrary text in a message. */
function safeWord(value: unknown): string | undefined {
  return typeof value === "string" && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
