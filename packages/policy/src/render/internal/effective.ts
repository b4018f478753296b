import { ConfspaceError } from "@confspace/core";
import { validatePolicy } from "../../validate-policy.js";
import type { ResolvedWorkloadPolicy, WorkloadPolicy } from "../../workload-policy.js";

export { CONFIDENTIAL_SPACE_SWNAME as CONFIDENTIAL_SPACE, DEBUG_DISABLED } from "../../workload-policy.js";

/** Google's issuer of attestation tokens (no trailing slash: tokens carry none). */
export const GOOGLE_ISSUER = "https://confidentialcomputing.googleapis.com";

/**
 * A clause of a policy a renderer may be unable to express. The names are the policy's
 * fields, plus the checks every policy makes: `dbgstat` (debug images refused unless
 * `allowDebug`), `secboot` and `swversionFormat` (`swversion` is an array of one decimal
 * string).
 */
export type RenderClause =
  | "imageDigests"
  | "imageSignatures"
  | "projectIds"
  | "projectNumbers"
  | "serviceAccounts"
  | "hardwareModels"
  | "supportAttributes"
  | "minSwVersion"
  | "restartPolicies"
  | "dbgstat"
  | "secboot"
  | "swversionFormat";

/** A clause the rendered configuration does not enforce, and why the target cannot. */
export interface UnenforcedClause {
  clause: RenderClause;
  reason: string;
}

/** Options every renderer takes. */
export interface RenderCommonOptions {
  /**
   * Clauses of the policy the caller accepts the target will not enforce (see each
   * target's limits in the README). A clause the policy sets that the target cannot
   * express throws {@link PolicyNotExpressibleError} unless listed here. Checks every
   * policy makes implicitly (`secboot`, `swversionFormat`) are reported in `unenforced`
   * without being listed. Default: none.
   */
  allowUnenforced?: readonly RenderClause[];
}

/**
 * The policy cannot be written in the target's language without weakening it: the
 * clause is named, and `allowUnenforced` (with the clause) renders without it — unless
 * dropping it would leave the workload unpinned, which is always refused.
 */
export class PolicyNotExpressibleError extends ConfspaceError {
  declare readonly code: "ERR_POLICY_NOT_EXPRESSIBLE";
  /** The target (`gcp`, `vault`, `aws`, `broker`). */
  readonly target: string;
  /** The clause that cannot be expressed. */
  readonly clause: RenderClause;
  constructor(target: string, clause: RenderClause, message: string) {
    super("ERR_POLICY_NOT_EXPRESSIBLE", message);
    this.target = target;
    this.clause = clause;
  }
}

/** A policy with the verifier's defaults filled in, as every renderer sees it. */
export type EffectivePolicy = ResolvedWorkloadPolicy;

/** Validates the policy (unless it came from validatePolicy) and fills in the defaults. */
export function effectivePolicy(policy: WorkloadPolicy | ResolvedWorkloadPolicy): EffectivePolicy {
  return validatePolicy(policy);
}

/** Collects what a target cannot express, refusing it unless the caller allowed it. */
export class Unenforced {
  readonly list: UnenforcedClause[] = [];
  /** The clauses the policy set and the rendering dropped (allowed by the caller). */
  readonly #dropped: RenderClause[] = [];
  readonly #allowed: ReadonlySet<RenderClause>;
  readonly #target: string;

  constructor(target: string, options: RenderCommonOptions) {
    this.#target = target;
    this.#allowed = new Set(options.allowUnenforced);
  }

  /** A clause the policy set that the target cannot express. */
  refuse(clause: RenderClause, reason: string): void {
    if (!this.#allowed.has(clause)) {
      throw new PolicyNotExpressibleError(
        this.#target,
        clause,
        `${this.#target}: ${clause} cannot be expressed (${reason}); pass allowUnenforced: ["${clause}"] to render without it`,
      );
    }
    this.list.push({ clause, reason });
    this.#dropped.push(clause);
  }

  /** A check every policy makes implicitly, reported only. */
  note(clause: RenderClause, reason: string): void {
    this.list.push({ clause, reason });
  }

  /**
   * After dropping clauses: the rendering must still pin a workload (`pinned`: what the
   * target enforces of image digests, signatures, or projects with service accounts),
   * unless the policy says allowAnyWorkload. A validated policy pins a workload, so when
   * the rendering does not, a clause was dropped: the error names the first.
   */
  requirePin(policy: EffectivePolicy, pinned: boolean, instead: string): void {
    if (pinned || policy.allowAnyWorkload) return;
    throw new PolicyNotExpressibleError(
      this.#target,
      this.#dropped[0]!,
      `${this.#target}: without ${this.#dropped.join(", ")} the rendered configuration pins no workload; pin ${instead} instead`,
    );
  }
}
