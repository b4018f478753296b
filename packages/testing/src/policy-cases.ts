// One table of claim mutations for the one WorkloadPolicy evaluator (@confspace/policy):
// the policy package, the verifier and the broker's grant matching all run it, so the
// three cannot drift apart. A case is the good claims plus one mutation.
import type { ClauseProblem, PolicyClause, WorkloadPolicy } from "@confspace/policy";

type Json = Record<string, unknown>;

/** Three signers' key IDs (lowercase hex SHA-256, as Google reports them); the good image is signed by the first two. */
export const POLICY_CASE_KEY_IDS = [
  "1b4f0e9868c2e9ab4bcb1fb7bcbd1b8e71e51f7f21a5b4f1d4a3c2b1a0f9e8d7",
  "2c5a1f0979d3fabc5cdc20c8cdce2c9f82f62080325c6c02e5b4d3c2b1a0f9e8",
  "3d6b2a1a8ae40bcd6ded31d9dedf3da093073191436d7d13f6c5e4d3c2b1a0f9",
] as const;

/** One row: the mutation and the clause that must fail because of it. */
export interface PolicyCase {
  name: string;
  mutate: (claims: Json) => void;
  clause: PolicyClause;
  problem: ClauseProblem;
  /** The claim the failure names. */
  claim: string;
}

/** Sets the value at a dotted path of `claims`. */
function set(claims: Json, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop()!;
  let node = claims;
  for (const key of keys) node = node[key] as Json;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

const signature = (key_id: string) => ({
  key_id,
  signature: Buffer.from(`signature by ${key_id.slice(0, 8)}`).toString("base64"),
  signature_algorithm: "ECDSA_P256_SHA256",
});

/**
 * Makes `claims` (a good token's payload, e.g. an emulator's `claims()`) the table's good
 * claims: signed by the first two of {@link POLICY_CASE_KEY_IDS}. Returns it.
 */
export function preparePolicyClaims<T extends Json>(claims: T): T {
  set(claims, "submods.container.image_signatures", POLICY_CASE_KEY_IDS.slice(0, 2).map(signature));
  return claims;
}

/** The policy every case runs against: it admits exactly the prepared good claims. */
export function policyCasePolicy(good: Json): WorkloadPolicy {
  const submods = good.submods as Record<string, Json>;
  const container = submods.container as Json;
  const gce = submods.gce as Json;
  return {
    imageDigests: [container.image_digest as string],
    imageSignatures: { keyIds: [...POLICY_CASE_KEY_IDS], threshold: 2 },
    projectIds: [gce.project_id as string],
    projectNumbers: [gce.project_number as string],
    serviceAccounts: [(good.google_service_accounts as string[])[0]!],
    hardwareModels: [good.hwmodel as "GCP_AMD_SEV"],
    supportAttributes: ["STABLE"],
    minSwVersion: Number((good.swversion as string[])[0]),
    restartPolicies: [container.restart_policy as "Never"],
  };
}

const OTHER_DIGEST = `sha256:${"e".repeat(64)}`;

/** Every row fails exactly one clause of {@link policyCasePolicy}. */
export const POLICY_CASES: readonly PolicyCase[] = [
  {
    name: "another image digest",
    mutate: (c) => set(c, "submods.container.image_digest", OTHER_DIGEST),
    clause: "image_digest",
    problem: "mismatch",
    claim: "submods.container.image_digest",
  },
  {
    name: "a digest with a trailing space",
    mutate: (c) =>
      set(c, "submods.container.image_digest", `${(c.submods as Json & { container: Json }).container.image_digest} `),
    clause: "image_digest",
    problem: "mismatch",
    claim: "submods.container.image_digest",
  },
  {
    name: "another project id",
    mutate: (c) => set(c, "submods.gce.project_id", "attacker-project"),
    clause: "project_id",
    problem: "mismatch",
    claim: "submods.gce.project_id",
  },
  {
    name: "another project number",
    mutate: (c) => set(c, "submods.gce.project_number", "999999999999"),
    clause: "project_number",
    problem: "mismatch",
    claim: "submods.gce.project_number",
  },
  {
    name: "another service account",
    mutate: (c) => set(c, "google_service_accounts", ["attacker@attacker-project.iam.gserviceaccount.com"]),
    clause: "service_account",
    problem: "mismatch",
    claim: "google_service_accounts",
  },
  {
    name: "a debug image",
    mutate: (c) => set(c, "dbgstat", "enabled"),
    clause: "dbgstat",
    problem: "mismatch",
    claim: "dbgstat",
  },
  {
    name: "no STABLE support attribute",
    mutate: (c) => set(c, "submods.confidential_space.support_attributes", ["USABLE", "EXPERIMENTAL"]),
    clause: "support_attributes",
    problem: "mismatch",
    claim: "submods.confidential_space.support_attributes",
  },
  {
    name: 'support attributes as a string ("UNSTABLE" contains "STABLE")',
    mutate: (c) => set(c, "submods.confidential_space.support_attributes", "UNSTABLE"),
    clause: "support_attributes",
    problem: "claim_type",
    claim: "submods.confidential_space.support_attributes",
  },
  {
    name: "an older swversion",
    mutate: (c) => set(c, "swversion", [String(Number((c.swversion as string[])[0]) - 1)]),
    clause: "swversion",
    problem: "mismatch",
    claim: "swversion",
  },
  {
    name: "swversion as a number",
    mutate: (c) => set(c, "swversion", Number((c.swversion as string[])[0])),
    clause: "swversion",
    problem: "claim_type",
    claim: "swversion",
  },
  {
    name: "signatures below the threshold (one of two)",
    mutate: (c) => set(c, "submods.container.image_signatures", [signature(POLICY_CASE_KEY_IDS[0])]),
    clause: "image_signatures",
    problem: "mismatch",
    claim: "submods.container.image_signatures",
  },
  {
    name: "one key's signature twice counts once",
    mutate: (c) =>
      set(c, "submods.container.image_signatures", [
        signature(POLICY_CASE_KEY_IDS[1]),
        signature(POLICY_CASE_KEY_IDS[1]),
      ]),
    clause: "image_signatures",
    problem: "mismatch",
    claim: "submods.container.image_signatures",
  },
  {
    name: "an unlisted key's signature does not count",
    mutate: (c) =>
      set(c, "submods.container.image_signatures", [signature(POLICY_CASE_KEY_IDS[0]), signature("f".repeat(64))]),
    clause: "image_signatures",
    problem: "mismatch",
    claim: "submods.container.image_signatures",
  },
  {
    name: "an unsigned image",
    mutate: (c) => set(c, "submods.container.image_signatures", undefined),
    clause: "image_signatures",
    problem: "mismatch",
    claim: "submods.container.image_signatures",
  },
  {
    name: "other hardware",
    mutate: (c) => set(c, "hwmodel", c.hwmodel === "GCP_INTEL_TDX" ? "GCP_AMD_SEV" : "GCP_INTEL_TDX"),
    clause: "hwmodel",
    problem: "mismatch",
    claim: "hwmodel",
  },
  {
    name: "a Shielded VM",
    mutate: (c) => set(c, "hwmodel", "GCP_SHIELDED_VM"),
    clause: "hwmodel",
    problem: "mismatch",
    claim: "hwmodel",
  },
  {
    name: "another restart policy",
    mutate: (c) =>
      set(
        c,
        "submods.container.restart_policy",
        (c.submods as Json & { container: Json }).container.restart_policy === "Always" ? "Never" : "Always",
      ),
    clause: "restart_policy",
    problem: "mismatch",
    claim: "submods.container.restart_policy",
  },
  {
    name: "Secure Boot off",
    mutate: (c) => set(c, "secboot", false),
    clause: "secboot",
    problem: "mismatch",
    claim: "secboot",
  },
  {
    name: "not Confidential Space",
    mutate: (c) => set(c, "swname", "GCE"),
    clause: "swname",
    problem: "mismatch",
    claim: "swname",
  },
];
