import { reject } from "./errors.js";
import type { Payload } from "./internal/claim-access.js";

/** What {@link checkIssuerAndTimes} needs from the verifier's options. */
export interface TimeClaimOptions {
  issuer: string;
  /** Current time, ms since the epoch. */
  now: number;
  clockToleranceMs: number;
  maxTokenAgeMs: number;
  /** Whether `eat_nonce` is required (a nonce is expected). */
  requireNonce: boolean;
}

/**
 * Presence and types of the registered claims, then `iss` (exact), `nbf`, `exp` and the
 * token's age from `iat`, each with the clock tolerance. Times are compared in whole
 * seconds, as JWT NumericDates are. `aud` and `sub` follow in `checkRegisteredClaims`.
 */
export function checkIssuerAndTimes(payload: Payload, options: TimeClaimOptions): void {
  const required = options.requireNonce
    ? ["exp", "iat", "nbf", "eat_nonce", "iss", "aud"]
    : ["exp", "iat", "nbf", "iss", "aud"];
  for (const name of required) {
    if (!Object.hasOwn(payload, name)) throw reject("missing_claim", `the token has no "${name}" claim`, name);
  }
  if (payload.iss !== options.issuer) {
    throw reject("issuer", "the token's issuer is not the configured issuer", "iss");
  }
  for (const name of ["iat", "nbf", "exp"] as const) {
    if (typeof payload[name] !== "number" || !Number.isFinite(payload[name])) {
      throw reject("claim_type", `the token's "${name}" claim has the wrong type`, name);
    }
  }
  const now = Math.floor(options.now / 1000);
  const tolerance = options.clockToleranceMs / 1000;
  const { iat, nbf, exp } = payload as { iat: number; nbf: number; exp: number };
  if (nbf > now + tolerance) throw reject("not_yet_valid", "the token is not valid yet (nbf)", "nbf");
  if (exp <= now - tolerance) throw reject("expired", "the token has expired", "exp");
  const age = now - iat;
  if (age - tolerance > options.maxTokenAgeMs / 1000) {
    throw reject("too_old", "the token was issued longer ago than maxTokenAgeMs", "iat");
  }
  if (age < -tolerance) throw reject("issued_in_future", "the token's iat is in the future", "iat");
}
