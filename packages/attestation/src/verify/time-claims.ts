import type { ConfidentialSpaceClaims } from "../claims.js";
import { reject } from "./errors.js";

/** What {@link checkIssuerAndTimes} needs from the verifier's options. */
export interface TimeClaimOptions {
  issuer: string;
  /** Current time, ms since the epoch. */
  now: number;
  clockToleranceMs: number;
  maxTokenAgeMs: number;
}

/**
 * `iss` (exact), `nbf`, `exp` and the token's age from `iat`, each with the clock
 * tolerance, on claims whose types were checked (all four present, the times finite
 * numbers). Times are compared in whole seconds, as JWT NumericDates are.
 */
export function checkIssuerAndTimes(claims: ConfidentialSpaceClaims, options: TimeClaimOptions): void {
  if (claims.iss !== options.issuer) {
    throw reject("issuer", "the token's issuer is not the configured issuer", "iss");
  }
  const now = Math.floor(options.now / 1000);
  const tolerance = options.clockToleranceMs / 1000;
  const { iat, nbf, exp } = claims;
  if (nbf > now + tolerance) throw reject("not_yet_valid", "the token is not valid yet (nbf)", "nbf");
  if (exp <= now - tolerance) throw reject("expired", "the token has expired", "exp");
  const age = now - iat;
  if (age - tolerance > options.maxTokenAgeMs / 1000) {
    throw reject("too_old", "the token was issued longer ago than maxTokenAgeMs", "iat");
  }
  if (age < -tolerance) throw reject("issued_in_future", "the token's iat is in the future", "iat");
}
