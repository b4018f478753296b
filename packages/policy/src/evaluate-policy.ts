import {
  audienceClause,
  type Checker,
  DBGSTAT,
  exact,
  HWMODEL,
  listed,
  present,
  SWNAME,
  secboot,
  serviceAccounts,
  signatures,
  supportAttributes,
  swversion,
} from "./internal/clauses.js";
import { validatePolicy } from "./validate-policy.js";
import {
  CONFIDENTIAL_SPACE_SWNAME,
  DEBUG_DISABLED,
  type ResolvedWorkloadPolicy,
  type WorkloadPolicy,
} from "./workload-policy.js";

/**
 * A rule of a {@link WorkloadPolicy} as the evaluator checks it. `swname`, `secboot`,
 * `hwmodel`, `dbgstat`, `swversion` and `support_attributes` are checked for every policy
 * (with their defaults); the others only when the policy sets their field.
 */
export type PolicyClause =
  | "audience"
  | "swname"
  | "hwmodel"
  | "secboot"
  | "dbgstat"
  | "swversion"
  | "support_attributes"
  | "image_digest"
  | "image_signatures"
  | "project_id"
  | "project_number"
  | "restart_policy"
  | "service_account";

/**
 * Why a clause failed: the claim is absent (`missing_claim`), has the wrong JSON type
 * (`claim_type`: a string where an array belongs, `swversion` not one decimal string), or
 * holds a value the policy does not admit (`mismatch`).
 */
export type ClauseProblem = "missing_claim" | "claim_type" | "mismatch";

/** The outcome of one clause. */
export interface ClauseResult {
  /** Which rule. */
  readonly clause: PolicyClause;
  /** The claim it reads, a dotted path (`submods.container.image_digest`). */
  readonly claim: string;
  /** Whether the claims satisfy it. */
  readonly ok: boolean;
  /** Why not, when `ok` is false. */
  readonly problem?: ClauseProblem;
  /**
   * What the policy requires, in words (`one of [sha256:…]`, `at least 2 of [k1, k2, k3]`,
   * `>= 240500`).
   */
  readonly expected: string;
  /**
   * The claim's value as the token carries it, for explaining a decision: every claim a
   * policy reads is non-secret (digests, projects, service accounts, hardware). Long
   * strings and lists are shortened; for `image_signatures` only the `key_id`s are
   * shown. Absent when the claim is absent.
   */
  readonly value?: unknown;
  /** One sentence saying what was checked or what failed, without claim values. */
  readonly message: string;
}

/** What {@link evaluatePolicy} found: every clause, and the first failed one if any. */
export type PolicyEvaluation =
  | { readonly ok: true; readonly clauses: readonly ClauseResult[] }
  | { readonly ok: false; readonly failed: ClauseResult; readonly clauses: readonly ClauseResult[] };

/**
 * Evaluates `claims` (the payload of a token whose signature, issuer, times and audience
 * the caller has already verified) against `policy`: the one implementation behind the
 * verifier's policy check, the broker's grant matching and `explain`.
 *
 * Every clause is evaluated, in a fixed order (audience, swname, hwmodel, secboot,
 * dbgstat, swversion, support attributes, image digest, image signatures, project id,
 * project number, restart policy, service account); `failed` is the first that does not
 * hold. Types are checked before values: an array claim must be an array
 * (`"UNSTABLE".includes("STABLE")` is true), a boolean a boolean. Never throws for any
 * `claims`; a policy not made by {@link validatePolicy} is validated first (and throws
 * `InvalidOptionError` if it is not valid).
 *
 * @example
 * ```ts
 * import { evaluatePolicy } from "@confspace/policy";
 *
 * declare const claims: Record<string, unknown>; // a verified token's payload
 * const result = evaluatePolicy({ projectIds: ["my-project"], serviceAccounts: ["w@my-project.iam.gserviceaccount.com"] }, claims);
 * if (!result.ok) console.log(result.failed.clause, result.failed.claim, result.failed.value);
 * ```
 */
export function evaluatePolicy(
  policy: WorkloadPolicy | ResolvedWorkloadPolicy,
  claims: Readonly<Record<string, unknown>>,
): PolicyEvaluation {
  const clauses = Object.freeze(compiled(policy).map((check) => Object.freeze(check(claims, true) as ClauseResult)));
  const failed = clauses.find((clause) => !clause.ok);
  return failed === undefined
    ? Object.freeze({ ok: true as const, clauses })
    : Object.freeze({ ok: false as const, failed, clauses });
}

/**
 * The first clause of `policy` that `claims` fail, in {@link evaluatePolicy}'s order, or
 * `undefined` when the policy admits them. The same clauses as `evaluatePolicy`, but a
 * clause that holds builds no result and no words: the check a relying party runs on every
 * request (the verifier's policy, the broker's grants). Never throws for any `claims`; a
 * policy not made by {@link validatePolicy} is validated first.
 *
 * @example
 * ```ts
 * import { findPolicyFailure, validatePolicy } from "@confspace/policy";
 *
 * declare const claims: Record<string, unknown>; // a verified token's payload
 * const policy = validatePolicy({ imageDigests: ["sha256:…"] });
 * const failed = findPolicyFailure(policy, claims);
 * if (failed !== undefined) console.log(`${failed.clause}: ${failed.message}`);
 * ```
 */
export function findPolicyFailure(
  policy: WorkloadPolicy | ResolvedWorkloadPolicy,
  claims: Readonly<Record<string, unknown>>,
): ClauseResult | undefined {
  for (const check of compiled(policy)) {
    const failed = check(claims, false);
    if (failed !== undefined) return Object.freeze(failed);
  }
  return undefined;
}

/** The clauses of each validated policy, compiled once (policies are frozen). */
const compiledPolicies = new WeakMap<ResolvedWorkloadPolicy, readonly Checker[]>();

function compiled(policy: WorkloadPolicy | ResolvedWorkloadPolicy): readonly Checker[] {
  const p = validatePolicy(policy);
  let checks = compiledPolicies.get(p);
  // Stryker disable next-line ConditionalExpression,BlockStatement: the cache only saves compiling again; every result is the same
  if (checks === undefined) {
    checks = compile(p);
    // Stryker disable next-line CallExpression: the cache only saves compiling again
    compiledPolicies.set(p, checks);
  }
  return checks;
}

/** The clauses a policy has, in the evaluation order. */
function compile(p: ResolvedWorkloadPolicy): readonly Checker[] {
  const checks: Checker[] = [];
  if (p.audience !== undefined) checks.push(audienceClause(p.audience));
  checks.push(exact("swname", "swname", [CONFIDENTIAL_SPACE_SWNAME], SWNAME));
  checks.push(exact("hwmodel", "hwmodel", p.hardwareModels, HWMODEL));
  checks.push(secboot());
  checks.push(
    p.allowDebug
      ? present("dbgstat", "dbgstat", "string", "any (allowDebug)")
      : exact("dbgstat", "dbgstat", [DEBUG_DISABLED], DBGSTAT),
  );
  checks.push(swversion(p.minSwVersion));
  checks.push(supportAttributes(p.supportAttributes));
  if (p.imageDigests !== undefined) {
    checks.push(exact("image_digest", "submods.container.image_digest", p.imageDigests, listed("the image digest")));
  }
  if (p.imageSignatures !== undefined) checks.push(signatures(p.imageSignatures.keyIds, p.imageSignatures.threshold));
  if (p.projectIds !== undefined) {
    checks.push(exact("project_id", "submods.gce.project_id", p.projectIds, listed("the project id")));
  }
  if (p.projectNumbers !== undefined) {
    checks.push(exact("project_number", "submods.gce.project_number", p.projectNumbers, listed("the project number")));
  }
  if (p.restartPolicies !== undefined) {
    checks.push(
      exact("restart_policy", "submods.container.restart_policy", p.restartPolicies, listed("the restart policy")),
    );
  }
  if (p.serviceAccounts !== undefined) checks.push(serviceAccounts(p.serviceAccounts));
  return Object.freeze(checks);
}
