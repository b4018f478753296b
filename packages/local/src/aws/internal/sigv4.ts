import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/** The parts of an `Authorization: AWS4-HMAC-SHA256 …` header. */
export interface SigV4Authorization {
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  /** Lower-case header names, as listed. */
  signedHeaders: string[];
  /** Lower-case hex. */
  signature: string;
}

/** Why an Authorization header could not be read, in AWS's words where AWS has them. */
export type SigV4ParseFailure = { reason: "missing" } | { reason: "malformed"; detail: string };

const ALGORITHM = "AWS4-HMAC-SHA256";

/** Reads `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorization(header: string | undefined): SigV4Authorization | SigV4ParseFailure {
  if (header === undefined || header === "") return { reason: "missing" };
  if (!header.startsWith(`${ALGORITHM} `)) {
    return { reason: "malformed", detail: "Unsupported authorization type; only AWS4-HMAC-SHA256 is accepted." };
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    return {
      reason: "malformed",
      detail: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
    };
  }
  const scope = credential.split("/");
  if (scope.length !== 5 || scope[4] !== "aws4_request" || !/^\d{8}$/.test(scope[1]!)) {
    return {
      reason: "malformed",
      detail: "Credential should be scoped correctly: AKID/YYYYMMDD/region/service/aws4_request.",
    };
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) return { reason: "malformed", detail: "Signature must be 64 hex digits." };
  return {
    accessKeyId: scope[0]!,
    scopeDate: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: signedHeaders.split(";").filter((h) => h !== ""),
    signature,
  };
}

/** `YYYYMMDDTHHMMSSZ` → ms since the epoch, or `undefined`. */
export function parseAmzDate(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Splits a raw query string into decoded parameters (`+` is not a space in SigV4; a bare key has the value ""). */
export function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : safeDecode(pair.slice(eq + 1));
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** What is needed to recompute a request's signature. */
export interface SignedRequest {
  method: string;
  /** The path as sent (still percent-encoded). */
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  /** The body, hashed when the request has no `x-amz-content-sha256` header. */
  body: Buffer;
}

/**
 * Recomputes the SigV4 signature of `request` with `secretAccessKey` over exactly the
 * headers the client listed as signed, using `@smithy/signature-v4` (the SDK's own
 * signer), and compares it in constant time. S3 does not double-encode the path
 * (`uriEscapePath: false`); other services do.
 */
export async function signatureMatches(
  request: SignedRequest,
  auth: SigV4Authorization,
  secretAccessKey: string,
  signingDate: number,
): Promise<boolean> {
  // Services other than S3 hash the body they received; a payload hash header that
  // disagrees with it cannot have produced a valid signature. (S3 checks the header
  // against the body separately, with its own error code.)
  const declaredHash = request.headers["x-amz-content-sha256"];
  if (auth.service !== "s3" && typeof declaredHash === "string" && declaredHash !== sha256Hex(request.body)) {
    return false;
  }
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return false;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    uriEscapePath: auth.service !== "s3",
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: "",
      path: request.path,
      query: request.query,
      headers,
      body: request.body,
    },
    { signingDate: new Date(signingDate), signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))?.[1];
  if (expected === undefined) return false;
  return timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(auth.signature, "hex"));
}

function sha256Hex(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}
