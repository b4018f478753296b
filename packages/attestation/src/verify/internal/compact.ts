import { reject } from "../errors.js";
import { isJsonObject } from "./payload.js";

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** One strict decoder for every token (it keeps no state between `decode` calls). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** What {@link decodeJsonPart} returns for a part that is not base64url UTF-8 JSON. */
export const NOT_JSON: unique symbol = Symbol("not JSON");

/** The JSON value of one base64url part of a compact JWS, or {@link NOT_JSON}. */
export function decodeJsonPart(part: string): unknown {
  try {
    return JSON.parse(UTF8.decode(Buffer.from(part, "base64url")));
  } catch {
    return NOT_JSON;
  }
}

/**
 * Checks the token's size (before anything else) and shape, and decodes its protected
 * header. The header is untrusted until the signature is verified.
 */
export function decodeHeader(token: unknown, maxTokenBytes: number): Record<string, unknown> {
  if (typeof token !== "string") throw reject("format", "the token must be a string");
  // For the ASCII the format allows, length equals bytes; anything longer is refused unread.
  if (token.length > maxTokenBytes) throw reject("size", `the token is longer than ${maxTokenBytes} bytes`);
  if (!COMPACT_JWS.test(token)) throw reject("format", "the token is not a compact JWS (three base64url parts)");
  const header = decodeJsonPart(token.slice(0, token.indexOf(".")));
  if (header === NOT_JSON) throw reject("format", "the token's header is not base64url JSON");
  if (!isJsonObject(header)) throw reject("format", "the token's header is not a JSON object");
  return header;
}

/**
 * The token's `iat`, read WITHOUT verifying the signature (the token's shape was checked
 * by {@link decodeHeader}). Only for deciding how to report a key that cannot be found;
 * `undefined` when the payload or the claim cannot be read.
 */
export function peekIssuedAt(token: string): unknown {
  const first = token.indexOf(".");
  const payload = decodeJsonPart(token.slice(first + 1, token.indexOf(".", first + 1)));
  // A symbol, string or number has no own `iat` either.
  return (payload as { iat?: unknown } | null)?.iat;
}
