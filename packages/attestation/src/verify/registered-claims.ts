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
 * `eat_nonce` must carry exactly the set `expected`: the same nonces, each once, in any
 * order, nothing else. One nonce may come as a string (the service returns one nonce as
 * a string) or a one-element array. Compared in constant time per pair; only lengths,
 * which are public, can leak.
 */
export function checkNonces(payload: Payload, expected: readonly string[]): void {
  const value = lookup(payload, "eat_nonce");
  if (value === undefined) throw reject("missing_claim", 'the token has no "eat_nonce" claim', "eat_nonce");
  const actual: unknown[] = Array.isArray(value) ? value : [value];
  if (!actual.every((entry) => typeof entry === "string")) {
    throw reject("claim_type", '"eat_nonce" must be a string or an array of strings', "eat_nonce");
  }
  if (actual.length !== expected.length) {
    throw reject("nonce", `eat_nonce must hold exactly the ${expected.length} expected nonce(s)`, "eat_nonce");
  }
  const tokens = (actual as string[]).map((entry) => Buffer.from(entry, "utf8"));
  // `expected` is distinct and as long as the token's list: if each expected nonce is in
  // the list, the list is exactly the expected set (a duplicate would leave one out).
  for (const nonce of expected) {
    const wanted = Buffer.from(nonce, "utf8");
    if (!tokens.some((t) => t.length === wanted.length && timingSafeEqual(t, wanted))) {
      throw reject("nonce", "eat_nonce is not the expected set of nonces", "eat_nonce");
    }
  }
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string");
}
