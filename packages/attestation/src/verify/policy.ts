import { type ClauseResult, findPolicyFailure, type ResolvedWorkloadPolicy } from "@confspace/policy";
import { type PolicyCheck, reject } from "./errors.js";
import type { Payload } from "./internal/payload.js";

/** The verifier's check for each clause of the policy that can fail on a value. */
const CHECKS = {
  audience: "audience",
  swname: "swname",
  hwmodel: "hwmodel",
  secboot: "secboot",
  dbgstat: "dbgstat",
  swversion: "swversion",
  support_attributes: "support_attributes",
  image_digest: "image_digest",
  image_signatures: "image_signature",
  project_id: "project",
  project_number: "project",
  restart_policy: "restart_policy",
  service_account: "service_account",
} as const satisfies Record<ClauseResult["clause"], PolicyCheck>;

/**
 * Checks the workload claims of a verified payload against `policy` with
 * `@confspace/policy`'s `findPolicyFailure` (the clauses of `evaluatePolicy`, building
 * nothing for those that hold: this runs on every token), and throws `AttestationPolicyError` for the first
 * failed clause: `missing_claim` or `claim_type` when the claim is absent or malformed,
 * else the clause's own check. The message never holds the claim's value.
 */
export function checkPolicy(payload: Payload, policy: ResolvedWorkloadPolicy): void {
  const failed = findPolicyFailure(policy, payload);
  if (failed === undefined) return;
  const check: PolicyCheck =
    failed.problem === "missing_claim" || failed.problem === "claim_type" ? failed.problem : CHECKS[failed.clause];
  throw reject(check, failed.message, failed.claim);
}
