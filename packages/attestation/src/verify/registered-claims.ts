import { timingSafeEqual } from "node:crypto";
import { reject } from "./errors.js";
import { lookup, type Payload, requireString } from "./internal/claim-access.js";

/**
 * Checks jose does not make: `aud` is exactly the configured audience — a string, or a
 * one-element array (jose accepts any array that contains it); `sub` is a string;
 * `eat_nonce`, when present, is a string or an array of strings.
 */
export function checkRegisteredClaims(payload: Payload, audience: string): void {
  const { aud } = payload;
  const exact = aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience);
  if (!exact) throw reject("audience", "the token's audience is not exactly the configured audience", "aud");
  requireString(payload, "sub");
  const nonce = lookup(payload, "eat_nonce");
  if (nonce !== undefined && typeof nonce !== "string" && !isStringArray(nonce)) {
    throw reject("claim_type", '"eat_nonce" must be a string or an array of strings', "eat_nonce");
  }
}

/**
 * `eat_nonce` must carry exactly `expected`: the string itself, or a one-element array
 * holding it (the service returns one nonce as a string; both are accepted, nothing
 * else). Compared in constant time; only the length, which is public, can leak.
 */
export function checkNonce(payload: Payload, expected: string): void {
  const value = lookup(payload, "eat_nonce");
  if (value === undefined) throw reject("missing_claim", 'the token has no "eat_nonce" claim', "eat_nonce");
  let actual: unknown = value;
  if (Array.isArray(value)) {
    if (value.length !== 1)
      throw reject("nonce", "eat_nonce must hold exactly one nonce, the expected one", "eat_nonce");
    actual = value[0];
  }
  if (typeof actual !== "string") {
    throw reject("claim_type", '"eat_nonce" must be a string or a one-element array of strings', "eat_nonce");
  }
  const a = Buffer.from(actual, "utf8");
  const b = Buffer.from(expected, "utf8");
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw reject("nonce", "eat_nonce is not the expected nonce", "eat_nonce");
  }
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string");
}
