/** Test-only: one policy that sets every clause, none at its default, for the whole-output tests. */
import type { WorkloadPolicy } from "../src/workload-policy.js";

export const D1 = `sha256:${"a1".repeat(32)}`;
export const D2 = `sha256:${"b2".repeat(32)}`;
export const [K1, K2, K3] = ["c3", "d4", "e5"].map((k) => k.repeat(32)) as [string, string, string];
export const AUDIENCE = "https://relying-party.example.com";
export const SA = "workload@prod-project.iam.gserviceaccount.com";

export const FULL: WorkloadPolicy = {
  audience: AUDIENCE,
  imageDigests: [D1, D2],
  imageSignatures: { keyIds: [K1, K2, K3], threshold: 2 },
  projectIds: ["prod-project"],
  projectNumbers: ["123456789012"],
  serviceAccounts: [SA],
  hardwareModels: ["GCP_INTEL_TDX", "GCP_AMD_SEV"],
  supportAttributes: ["STABLE", "USABLE"],
  minSwVersion: 250301,
  restartPolicies: ["Never"],
};
