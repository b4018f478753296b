// Shape checks for compact JWTs, without any signature verification. Reasons never
// quote the token: they go into error messages.

/** Largest token accepted anywhere in this package, in bytes. PKI tokens with a three-certificate x5c chain stay well under it. */
export const MAX_TOKEN_BYTES = 64 * 1024;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type JwtParseResult =
  | { ok: true; header: Record<string, unknown>; payload: Record<string, unknown> }
  | { ok: false; reason: string };

/** Splits and decodes a compact JWS: three non-empty base64url parts, JSON-object header and payload. */
export function parseJwt(token: unknown, maxBytes: number = MAX_TOKEN_BYTES): JwtParseResult {
  if (typeof token !== "string") return { ok: false, reason: `expected a string, got ${typeof token}` };
  if (token.length === 0) return { ok: false, reason: "it is empty" };
  if (token.length > maxBytes) return { ok: false, reason: `it is longer than ${maxBytes} bytes` };
  if (!COMPACT_JWS.test(token)) {
    return { ok: false, reason: "it is not three base64url parts separated by dots (partly written or not a JWT?)" };
  }
  const [headerPart, payloadPart] = token.split(".") as [string, string, string];
  const header = decodeJsonObject(headerPart);
  if (header === undefined) return { ok: false, reason: "its header is not a base64url JSON object" };
  const payload = decodeJsonObject(payloadPart);
  if (payload === undefined) return { ok: false, reason: "its payload is not a base64url JSON object" };
  return { ok: true, header, payload };
}

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The payload's `exp` in ms since the epoch, or `undefined` when absent or not a finite number. */
export function expiryMs(payload: Record<string, unknown>): number | undefined {
  const exp = payload.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}
