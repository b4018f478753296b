import type { IncomingMessage, ServerResponse } from "node:http";
import { type LocalHandler, sendJson, serveOnLoopback } from "../../internal/http.js";
import { type FaultQueue, type LocalRequest, sendVerbatimFault, sleep } from "../../internal/local-server.js";
import type { LocalGooglePrincipal, LocalGoogleTokenIssuer, LocalStaticAccessToken } from "../principals.js";

/** Canonical codes and the HTTP status Google maps each to (google.rpc.Code). */
const HTTP_STATUS = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

/** A canonical error status of Google APIs. */
export type GoogleStatus = keyof typeof HTTP_STATUS;

/** A Google API error as the JSON/REST surface returns it: `{ error: { code, message, status, details? } }`. */
export class GoogleApiFailure {
  readonly httpStatus: number;
  constructor(
    readonly status: GoogleStatus,
    readonly message: string,
    readonly details?: ReadonlyArray<Record<string, unknown>>,
    readonly headers: Record<string, string> = {},
  ) {
    this.httpStatus = HTTP_STATUS[status];
  }

  send(res: ServerResponse): void {
    const error: Record<string, unknown> = { code: this.httpStatus, message: this.message, status: this.status };
    if (this.details) error.details = this.details;
    sendJson(res, this.httpStatus, { error }, this.headers);
  }
}

/** Answers with `result`: a failure's error body, or 200 and the result as JSON. */
export function sendResult(res: ServerResponse, result: unknown): void {
  if (result instanceof GoogleApiFailure) result.send(res);
  else sendJson(res, 200, result);
}

/**
 * Starts a local Google API on a loopback port. An exception escaping `handle` becomes
 * 500 INTERNAL (or a dropped connection once headers are out), as Google's front end answers.
 */
export function startGoogleApiServer(handle: LocalHandler): Promise<{ port: number; close: () => Promise<void> }> {
  return serveOnLoopback(handle, {
    onError: (res) => new GoogleApiFailure("INTERNAL", "Internal error encountered.").send(res),
  });
}

/** google.rpc.Code names of injected faults without a `code`, by HTTP status. */
const STATUS_NAME: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/**
 * Waits out the request's queued delay, then answers its queued fault, if any, in
 * Google's error JSON (`{ error: { code, message, status } }`) or verbatim. Returns
 * whether it answered.
 */
export async function answerFault(faults: FaultQueue, record: LocalRequest, res: ServerResponse): Promise<boolean> {
  const { delayMs, fault } = faults.take(record.path);
  await sleep(delayMs);
  if (!fault) return false;
  record.fault = true;
  record.status = fault.status;
  if (fault.body !== undefined) {
    record.error = fault.code;
    sendVerbatimFault(res, { ...fault, body: fault.body });
    return true;
  }
  const status = fault.code ?? STATUS_NAME[fault.status] ?? (fault.status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION");
  record.error = status;
  sendJson(res, fault.status, { error: { code: fault.status, message: fault.message, status } }, fault.headers);
  return true;
}

/** `google.rpc.ErrorInfo` detail, as Google attaches to IAM denials. */
export function errorInfo(reason: string, domain: string, metadata: Record<string, string>): Record<string, unknown> {
  return { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain, metadata };
}

const SEE_DEVCONSOLE = "See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const INVALID_TOKEN_HEADERS = {
  "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
};

/** Where a local Google API looks up bearer tokens. */
export interface TokenSources {
  issuers: readonly LocalGoogleTokenIssuer[];
  staticTokens: ReadonlyMap<string, LocalStaticAccessToken>;
}

/**
 * The caller of a request, from its `Authorization: Bearer` token, as Google answers:
 * 401 UNAUTHENTICATED without a token or with an unknown or expired one, 403 when the
 * token's scopes include none of `acceptedScopes`.
 */
export function authenticate(
  req: IncomingMessage,
  sources: TokenSources,
  now: number,
  acceptedScopes: readonly string[],
): LocalGooglePrincipal | GoogleApiFailure {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) {
    // Verbatim.
    return new GoogleApiFailure(
      "UNAUTHENTICATED",
      "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other " +
        `valid authentication credential. ${SEE_DEVCONSOLE}`,
      [errorInfo("CREDENTIALS_MISSING", "googleapis.com", {})],
    );
  }
  const token = match[1]!;
  let principal: LocalGooglePrincipal | undefined;
  const fixed = sources.staticTokens.get(token);
  if (fixed) {
    principal = {
      kind: "member",
      member: fixed.member,
      scopes: fixed.scopes ?? ["https://www.googleapis.com/auth/cloud-platform"],
      expiresAt: Number.POSITIVE_INFINITY,
    };
  }
  for (const issuer of sources.issuers) principal ??= issuer.resolveAccessToken(token);
  if (!principal || principal.expiresAt <= now) {
    // Verbatim.
    return new GoogleApiFailure(
      "UNAUTHENTICATED",
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid " +
        `authentication credential. ${SEE_DEVCONSOLE}`,
      [errorInfo("ACCESS_TOKEN_TYPE_UNSUPPORTED", "googleapis.com", {})],
      INVALID_TOKEN_HEADERS,
    );
  }
  if (!principal.scopes.some((scope) => acceptedScopes.includes(scope))) {
    // Verbatim.
    return new GoogleApiFailure("PERMISSION_DENIED", "Request had insufficient authentication scopes.", [
      errorInfo("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com", {}),
    ]);
  }
  return principal;
}

/**
 * Reads a JSON request body and checks it against the request message's fields, as the
 * JSON/REST transcoder does (`Invalid JSON payload received. …`).
 */
export async function readJsonRequest(
  req: IncomingMessage,
  fields: readonly string[],
): Promise<Record<string, unknown> | GoogleApiFailure> {
  const text = await readLimited(req);
  if (text === undefined) return new GoogleApiFailure("INVALID_ARGUMENT", "Request payload size exceeds the limit.");
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new GoogleApiFailure("INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return new GoogleApiFailure("INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.");
  }
  for (const key of Object.keys(body)) {
    // Proto3 JSON accepts the lowerCamel name and the original snake_case name.
    const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    if (!fields.includes(camel)) {
      return new GoogleApiFailure(
        "INVALID_ARGUMENT",
        `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`,
      );
    }
  }
  const normalised: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    normalised[key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())] = value;
  }
  return normalised;
}

/** Largest JSON body read (bytes): 64 KiB KMS inputs, base64-encoded, fit with room to spare. */
const MAX_JSON_BODY_BYTES = 256 * 1024;

async function readLimited(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
