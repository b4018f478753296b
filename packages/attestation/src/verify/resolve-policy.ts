import { InvalidOptionError } from "@confspace/core";
import { type ResolvedWorkloadPolicy, validatePolicy } from "@confspace/policy";
import { AttestationVerifierOptionError } from "./errors.js";
import { invalid } from "./internal/option-checks.js";

/**
 * Checks `options.policy` with `@confspace/policy`'s `validatePolicy` (unknown keys,
 * formats, the workload pin) and that its `audience`, if any, is the verifier's. Its
 * `InvalidOptionError` comes back as `AttestationVerifierOptionError` (a subclass), with
 * the same option and message.
 */
export function resolvePolicy(policy: unknown, audience: string): ResolvedWorkloadPolicy {
  if (policy === undefined) {
    invalid(
      "policy",
      "is required: pin the workload (imageDigests, imageSignatures, or projectIds/projectNumbers with serviceAccounts), or set allowAnyWorkload: true",
    );
  }
  let resolved: ResolvedWorkloadPolicy;
  try {
    // Errors name fields under "policy", validatePolicy's default path.
    resolved = validatePolicy(policy as ResolvedWorkloadPolicy);
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: validatePolicy throws nothing else; a bug there stays itself
    if (!(error instanceof InvalidOptionError)) throw error;
    throw new AttestationVerifierOptionError(error.option, error.message);
  }
  if (resolved.audience !== undefined && resolved.audience !== audience) {
    invalid("policy.audience", "must equal options.audience (the one audience this verifier accepts)");
  }
  return resolved;
}
