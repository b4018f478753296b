import { timingSafeEqual } from "node:crypto";
import type { ConfidentialSpaceClaims } from "../claims.js";
import { reject } from "./errors.js";

/**
 * `aud` is exactly the configured audience: a string, or a one-element array (an array
 * that merely contains it is another audience set).
 */
export function checkAudience(claims: ConfidentialSpaceClaims, audience: string): void {
  const { aud } = claims;
  // For a string `aud`, the second test only repeats the first.
  const exact = aud === audience || (aud.length === 1 && aud[0] === audience);
  if (!exact) throw reject("audience", "the token's audience is not exactly the configured audience", "aud");
}

/**
 * `eat_nonce` must carry exactly the set `expected`: the same nonces, each once, in any
 * order, nothing else. One nonce may come as a string (the service returns one nonce as
 * a string) or a one-element array. Compared in constant time per pair; only lengths,
 * which are public, can leak.
 */
export function checkNonces(claims: ConfidentialSpaceClaims, expected: readonly string[]): void {
  const value = claims.eat_nonce;
  if (value === undefined) throw reject("missing_claim", 'the token has no "eat_nonce" claim', "eat_nonce");
  const actual = typeof value === "string" ? [value] : value;
  if (actual.length !== expected.length) {
    throw reject("nonce", `eat_nonce must hold exactly the ${expected.length} expected nonce(s)`, "eat_nonce");
  }
  const tokens = actual.map((entry) => Buffer.from(entry));
  // `expected` is distinct and as long as the token's list: if each expected nonce is in
  // the list, the list is exactly the expected set (a duplicate would leave one out).
  for (const nonce of expected) {
    const wanted = Buffer.from(nonce);
    if (!tokens.some((t) => t.length === wanted.length && timingSafeEqual(t, wanted))) {
      throw reject("nonce", "eat_nonce is not the expected set of nonces", "eat_nonce");
    }
  }
}
