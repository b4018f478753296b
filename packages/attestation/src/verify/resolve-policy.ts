import { bool, invalid, knownKeys, list } from "./internal/option-checks.js";
import type { VerificationPolicy } from "./options.js";

/** Hardware that runs a confidential-memory TEE. */
export const DEFAULT_HARDWARE_MODELS: readonly string[] = Object.freeze([
  "GCP_AMD_SEV",
  "GCP_AMD_SEV_ES",
  "GCP_INTEL_TDX",
]);
/** Not a TEE: a Shielded VM does not protect memory from the host. Refused even if listed. */
const SHIELDED_VM = "GCP_SHIELDED_VM";

/** Every key of {@link VerificationPolicy}; any other is refused. */
const POLICY_KEYS = [
  "imageDigests",
  "imageSignatureKeyIds",
  "projectIds",
  "projectNumbers",
  "serviceAccounts",
  "hardwareModels",
  "supportAttributes",
  "minSwVersion",
  "restartPolicies",
  "allowDebug",
  "allowAnyWorkload",
] as const satisfies readonly (keyof VerificationPolicy)[];

/** A {@link VerificationPolicy} with defaults applied and lists turned into sets. */
export interface ResolvedPolicy {
  imageDigests: ReadonlySet<string> | undefined;
  imageSignatureKeyIds: ReadonlySet<string> | undefined;
  projectIds: ReadonlySet<string> | undefined;
  projectNumbers: ReadonlySet<string> | undefined;
  serviceAccounts: ReadonlySet<string> | undefined;
  hardwareModels: ReadonlySet<string>;
  supportAttributes: readonly string[];
  minSwVersion: number | undefined;
  restartPolicies: ReadonlySet<string> | undefined;
  allowDebug: boolean;
}

/** Checks `options.policy` (unknown keys, types, the workload pin) and applies defaults. */
export function resolvePolicy(policy: unknown): ResolvedPolicy {
  if (policy === undefined) {
    invalid(
      "policy",
      "is required: pin the workload (imageDigests, imageSignatureKeyIds, or projectIds/projectNumbers with serviceAccounts), or set allowAnyWorkload: true",
    );
  }
  knownKeys(policy, POLICY_KEYS, "policy");
  const p = policy as Record<(typeof POLICY_KEYS)[number], unknown>;
  const hardwareModels = list(p.hardwareModels, "policy.hardwareModels") ?? new Set(DEFAULT_HARDWARE_MODELS);
  if (hardwareModels.has(SHIELDED_VM)) {
    invalid("policy.hardwareModels", `must not list ${SHIELDED_VM}: a Shielded VM is not a TEE`);
  }
  const supportAttributes = p.supportAttributes ?? ["STABLE"];
  if (!Array.isArray(supportAttributes) || !supportAttributes.every((a) => typeof a === "string" && a.length > 0)) {
    invalid("policy.supportAttributes", "must be an array of non-empty strings");
  }
  const { minSwVersion } = p;
  if (minSwVersion !== undefined && !(Number.isSafeInteger(minSwVersion) && (minSwVersion as number) >= 0)) {
    invalid("policy.minSwVersion", "must be a non-negative integer");
  }
  const resolved: ResolvedPolicy = {
    imageDigests: list(p.imageDigests, "policy.imageDigests"),
    imageSignatureKeyIds: list(p.imageSignatureKeyIds, "policy.imageSignatureKeyIds"),
    projectIds: list(p.projectIds, "policy.projectIds"),
    projectNumbers: list(p.projectNumbers, "policy.projectNumbers"),
    serviceAccounts: list(p.serviceAccounts, "policy.serviceAccounts"),
    hardwareModels,
    supportAttributes: Object.freeze([...(supportAttributes as string[])]),
    minSwVersion: minSwVersion as number | undefined,
    restartPolicies: list(p.restartPolicies, "policy.restartPolicies"),
    allowDebug: bool(p.allowDebug, false, "policy.allowDebug"),
  };
  requireWorkloadPin(resolved, bool(p.allowAnyWorkload, false, "policy.allowAnyWorkload"));
  return resolved;
}

/**
 * Whether `policy` pins which workloads it admits: an image (digest or signing key), or
 * a project together with service accounts. A project alone admits any image anyone
 * with access to it runs; a service account alone can run VMs of other projects.
 */
export function pinsWorkload(policy: ResolvedPolicy): boolean {
  const project = policy.projectIds !== undefined || policy.projectNumbers !== undefined;
  return (
    policy.imageDigests !== undefined ||
    policy.imageSignatureKeyIds !== undefined ||
    (project && policy.serviceAccounts !== undefined)
  );
}

function requireWorkloadPin(policy: ResolvedPolicy, allowAnyWorkload: boolean): void {
  const pinned = pinsWorkload(policy);
  if (allowAnyWorkload && pinned) {
    invalid("policy.allowAnyWorkload", "contradicts the workload pin of the policy (remove one of the two)");
  }
  if (!allowAnyWorkload && !pinned) {
    invalid(
      "policy",
      "pins no workload: anyone can run a Confidential Space VM and get a Google-signed token for any audience. " +
        "Set imageDigests, imageSignatureKeyIds, or projectIds/projectNumbers together with serviceAccounts " +
        "(or allowAnyWorkload: true to admit every workload)",
    );
  }
}
