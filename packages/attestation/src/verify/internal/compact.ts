import { reject } from "../errors.js";

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Checks the token's size (before anything else) and shape, and decodes its protected
 * header. The header is untrusted until the signature is verified.
 */
export function decodeHeader(token: unknown, maxTokenBytes: number): Record<string, unknown> {
  if (typeof token !== "string") throw reject("format", "the token must be a string");
  // For the ASCII the format allows, length equals bytes; anything longer is refused unread.
  if (token.length > maxTokenBytes) throw reject("size", `the token is longer than ${maxTokenBytes} bytes`);
  if (!COMPACT_JWS.test(token)) throw reject("format", "the token is not a compact JWS (three base64url parts)");
  const encoded = token.slice(0, token.indexOf("."));
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(encoded, "base64url")));
  } catch {
    throw reject("format", "the token's header is not base64url JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw reject("format", "the token's header is not a JSON object");
  }
  return header as Record<string, unknown>;
}
