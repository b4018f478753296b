import { evaluatePolicy, validatePolicy } from "@confspace/policy";
import type { GrantMatch } from "../config-types.js";

/**
 * Whether verified claims satisfy a grant's `match`: `@confspace/policy`'s `evaluatePolicy`,
 * the one evaluator the verifier runs too. The one call the grant index makes.
 */
export function compileGrantMatch(match: GrantMatch): (claims: Record<string, unknown>) => boolean {
  const policy = validatePolicy(match, { path: "match" });
  return (claims) => evaluatePolicy(policy, claims).ok;
}
