import { lookupClaim } from "@confspace/policy";
import { reject } from "../errors.js";

/** A verified payload, not yet known to match {@link ConfidentialSpaceClaims}. */
export type Payload = Readonly<Record<string, unknown>>;

/**
 * The value at a dotted `path` (`submods.container.image_digest`), or `undefined` when a
 * segment is absent, read with `@confspace/policy`'s claim-path walker (own properties
 * only). A present intermediate that is not an object fails with `claim_type`.
 */
export function lookup(payload: Payload, path: string): unknown {
  const { value, blockedAt } = lookupClaim(payload, path);
  if (blockedAt !== undefined) throw reject("claim_type", `"${blockedAt}" must be an object`, blockedAt);
  return value;
}

/** A required string claim: absent → `missing_claim`, not a string → `claim_type`. */
export function requireString(payload: Payload, path: string): string {
  const value = lookup(payload, path);
  if (value === undefined) throw reject("missing_claim", `the token has no "${path}" claim`, path);
  if (typeof value !== "string") throw reject("claim_type", `"${path}" must be a string`, path);
  return value;
}
