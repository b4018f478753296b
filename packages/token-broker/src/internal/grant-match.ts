import { findPolicyFailure, validatePolicy } from "@confspace/policy";
import type { GrantMatch } from "../config-types.js";

/**
 * Whether verified claims satisfy a grant's `match`: `@confspace/policy`'s clauses, the
 * ones the verifier checks too, through `findPolicyFailure` (nothing built for a clause
 * that holds: this runs for every grant on every request). The one call the grant index makes.
 */
export function compileGrantMatch(match: GrantMatch): (claims: Record<string, unknown>) => boolean {
  const policy = validatePolicy(match, { path: "match" });
  return (claims) => findPolicyFailure(policy, claims) === undefined;
}
