import {
  audienceClause,
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
  const p = validatePolicy(policy);
  const clauses: ClauseResult[] = [];
  const add = (result: ClauseResult) => clauses.push(Object.freeze(result));

  if (p.audience !== undefined) add(audienceClause(claims, p.audience));
  add(exact(claims, "swname", "swname", [CONFIDENTIAL_SPACE_SWNAME], SWNAME));
  add(exact(claims, "hwmodel", "hwmodel", p.hardwareModels, HWMODEL));
  add(secboot(claims));
  add(
    p.allowDebug
      ? present(claims, "dbgstat", "dbgstat", "string", "any (allowDebug)")
      : exact(claims, "dbgstat", "dbgstat", [DEBUG_DISABLED], DBGSTAT),
  );
  add(swversion(claims, p.minSwVersion));
  add(supportAttributes(claims, p.supportAttributes));
  if (p.imageDigests !== undefined) {
    add(exact(claims, "image_digest", "submods.container.image_digest", p.imageDigests, listed("the image digest")));
  }
  if (p.imageSignatures !== undefined) add(signatures(claims, p.imageSignatures.keyIds, p.imageSignatures.threshold));
  if (p.projectIds !== undefined) {
    add(exact(claims, "project_id", "submods.gce.project_id", p.projectIds, listed("the project id")));
  }
  if (p.projectNumbers !== undefined) {
    add(exact(claims, "project_number", "submods.gce.project_number", p.projectNumbers, listed("the project number")));
  }
  if (p.restartPolicies !== undefined) {
    add(
      exact(
        claims,
        "restart_policy",
        "submods.container.restart_policy",
        p.restartPolicies,
        listed("the restart policy"),
      ),
    );
  }
  if (p.serviceAccounts !== undefined) add(serviceAccounts(claims, p.serviceAccounts));

  const frozen = Object.freeze(clauses);
  const failed = frozen.find((clause) => !clause.ok);
  return failed === undefined
    ? Object.freeze({ ok: true as const, clauses: frozen })
    : Object.freeze({ ok: false as const, failed, clauses: frozen });
}
