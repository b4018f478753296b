import { POLICY_CASE_KEY_IDS, POLICY_CASES, policyCasePolicy, preparePolicyClaims } from "@confspace/testing";
import { describe, expect, it } from "vitest";
import { evaluatePolicy as evaluateFully, findPolicyFailure } from "./evaluate-policy.js";
import { validatePolicy } from "./validate-policy.js";

const DIGEST = `sha256:${"a".repeat(64)}`;

/**
 * evaluatePolicy, with the check that findPolicyFailure (the per-request path, which builds
 * nothing for clauses that hold) finds exactly its first failed clause: every case below
 * tests both.
 */
const evaluatePolicy: typeof evaluateFully = (policy, claims) => {
  const result = evaluateFully(policy, claims);
  expect(findPolicyFailure(policy, claims)).toEqual(result.ok ? undefined : result.failed);
  return result;
};

/** A good payload, shaped as the attestation service issues it. */
function goodClaims(): Record<string, unknown> {
  return preparePolicyClaims({
    iss: "https://confidentialcomputing.googleapis.com",
    aud: "https://relying-party.example",
    hwmodel: "GCP_INTEL_TDX",
    swname: "CONFIDENTIAL_SPACE",
    swversion: ["250301"],
    dbgstat: "disabled-since-boot",
    secboot: true,
    google_service_accounts: ["workload@operator-project.iam.gserviceaccount.com"],
    submods: {
      confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
      container: { image_digest: DIGEST, restart_policy: "Never", image_reference: "registry.example/app@sha256:…" },
      gce: { project_id: "operator-project", project_number: "123456789012", instance_id: "42" },
    },
  });
}

describe("evaluatePolicy", () => {
  it("accepts the good claims and lists every clause it checked, all passing", () => {
    const claims = goodClaims();
    const result = evaluatePolicy(policyCasePolicy(claims), claims);
    expect(result.ok).toBe(true);
    expect(result.clauses.map((c) => [c.clause, c.ok])).toEqual([
      ["swname", true],
      ["hwmodel", true],
      ["secboot", true],
      ["dbgstat", true],
      ["swversion", true],
      ["support_attributes", true],
      ["image_digest", true],
      ["image_signatures", true],
      ["project_id", true],
      ["project_number", true],
      ["restart_policy", true],
      ["service_account", true],
    ]);
  });

  it("says what each clause requires and found, in words without claim values", () => {
    const claims = goodClaims();
    const policy = { ...policyCasePolicy(claims), audience: "https://relying-party.example" };
    const keys = POLICY_CASE_KEY_IDS.join(", ");
    expect(evaluatePolicy(policy, claims).clauses.map((c) => [c.clause, c.claim, c.expected, c.message])).toEqual([
      ["audience", "aud", "https://relying-party.example", "the audience matches"],
      ["swname", "swname", "one of [CONFIDENTIAL_SPACE]", "the image is Confidential Space"],
      ["hwmodel", "hwmodel", "one of [GCP_INTEL_TDX]", "the hardware model is an allowed TEE"],
      ["secboot", "secboot", "true", "Secure Boot is enabled"],
      ["dbgstat", "dbgstat", "one of [disabled-since-boot]", "the image is not a debug image"],
      ["swversion", "swversion", ">= 250301", "swversion is accepted"],
      [
        "support_attributes",
        "submods.confidential_space.support_attributes",
        "all of [STABLE]",
        "the support attributes are present",
      ],
      ["image_digest", "submods.container.image_digest", `one of [${DIGEST}]`, "the image digest is in the allow-list"],
      [
        "image_signatures",
        "submods.container.image_signatures",
        `at least 2 of [${keys}]`,
        "2 listed keys signed the image",
      ],
      ["project_id", "submods.gce.project_id", "one of [operator-project]", "the project id is in the allow-list"],
      [
        "project_number",
        "submods.gce.project_number",
        "one of [123456789012]",
        "the project number is in the allow-list",
      ],
      [
        "restart_policy",
        "submods.container.restart_policy",
        "one of [Never]",
        "the restart policy is in the allow-list",
      ],
      [
        "service_account",
        "google_service_accounts",
        "at least one of [workload@operator-project.iam.gserviceaccount.com]",
        "a service account of the token is in the allow-list",
      ],
    ]);
    const loose = evaluatePolicy({ allowAnyWorkload: true, supportAttributes: [], allowDebug: true }, claims);
    expect(loose.clauses.map((c) => [c.clause, c.expected, c.message])).toEqual([
      ["swname", "one of [CONFIDENTIAL_SPACE]", "the image is Confidential Space"],
      ["hwmodel", "one of [GCP_AMD_SEV, GCP_AMD_SEV_ES, GCP_INTEL_TDX]", "the hardware model is an allowed TEE"],
      ["secboot", "true", "Secure Boot is enabled"],
      ["dbgstat", "any (allowDebug)", "dbgstat is present"],
      ["swversion", "one decimal version", "swversion is accepted"],
      ["support_attributes", "any (none required)", "the support attributes are present"],
    ]);
  });

  it("joins several listed values in what it expects and says", () => {
    const claims = goodClaims();
    const policy = {
      imageDigests: [DIGEST],
      supportAttributes: ["STABLE", "EXPERIMENTAL"],
      serviceAccounts: ["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"],
      projectIds: ["operator-project"],
    } as const;
    const result = evaluatePolicy(policy, claims);
    expect(!result.ok && result.failed).toMatchObject({
      clause: "support_attributes",
      expected: "all of [STABLE, EXPERIMENTAL]",
      message: "support_attributes must include STABLE, EXPERIMENTAL",
    });
    expect(result.clauses.at(-1)?.expected).toBe(
      "at least one of [a@p.iam.gserviceaccount.com, b@p.iam.gserviceaccount.com]",
    );
  });

  it("checks every clause of claims that are not an object, or whose submods is not, as malformed, never throwing", () => {
    const policy = { ...policyCasePolicy(goodClaims()), audience: "https://relying-party.example", allowDebug: true };
    for (const claims of ["x", null, 7, ["a"]]) {
      const result = evaluatePolicy(policy, claims as never);
      expect(result.clauses.map((c) => [c.problem, c.message])).toEqual(
        result.clauses.map(() => ["claim_type", "the claims must be an object"]),
      );
      expect(result.clauses.map((c) => [c.clause, c.claim])).toEqual(
        evaluatePolicy(policy, goodClaims()).clauses.map((c) => [c.clause, c.claim]),
      );
      expect(result.clauses).toHaveLength(13);
    }
    const flat = { ...goodClaims(), submods: "none" };
    const nested = evaluatePolicy(policy, flat).clauses.filter((c) => c.claim.startsWith("submods."));
    expect(nested.map((c) => [c.clause, c.problem, c.message])).toEqual(
      ["support_attributes", "image_digest", "image_signatures", "project_id", "project_number", "restart_policy"].map(
        (clause) => [clause, "claim_type", '"submods" must be an object'],
      ),
    );
  });

  it("shows no value for an absent claim, and refuses a non-string dbgstat even with allowDebug", () => {
    const claims = goodClaims();
    delete claims.hwmodel;
    const missing = evaluatePolicy({ allowAnyWorkload: true }, claims);
    expect(!missing.ok && Object.hasOwn(missing.failed, "value")).toBe(false);
    const debug = evaluatePolicy({ allowAnyWorkload: true, allowDebug: true }, { ...goodClaims(), dbgstat: 5 });
    expect(!debug.ok && debug.failed).toMatchObject({
      clause: "dbgstat",
      problem: "claim_type",
      message: '"dbgstat" must be a string',
      value: 5,
    });
  });

  it("refuses lists holding a non-string entry", () => {
    const policy = policyCasePolicy(goodClaims());
    const accounts = {
      ...goodClaims(),
      google_service_accounts: [7, "workload@operator-project.iam.gserviceaccount.com"],
    };
    expect(evaluatePolicy(policy, accounts)).toMatchObject({
      failed: { clause: "service_account", problem: "claim_type" },
    });
    const attributes = goodClaims();
    (attributes.submods as { confidential_space: Record<string, unknown> }).confidential_space.support_attributes = [
      "STABLE",
      1,
    ];
    expect(evaluatePolicy(policy, attributes)).toMatchObject({
      failed: { clause: "support_attributes", problem: "claim_type" },
    });
    const versions = { ...goodClaims(), swversion: [250301] };
    expect(evaluatePolicy(policy, versions)).toMatchObject({ failed: { clause: "swversion", problem: "claim_type" } });
  });

  const failures: [string, string][] = [
    ["another image digest", "the image digest is not in the allow-list"],
    ["another project id", "the project id is not in the allow-list"],
    ["another project number", "the project number is not in the allow-list"],
    ["another service account", "no service account of the token is in the allow-list"],
    ["a debug image", "dbgstat must be disabled-since-boot (debug images need allowDebug)"],
    ["no STABLE support attribute", "support_attributes must include STABLE"],
    [
      'support attributes as a string ("UNSTABLE" contains "STABLE")',
      '"submods.confidential_space.support_attributes" must be an array of strings',
    ],
    ["an older swversion", "swversion is below the minimum 250301"],
    ["swversion as a number", '"swversion" must be an array of one decimal string'],
    ["signatures below the threshold (one of two)", "1 of the required 2 listed keys signed the image"],
    ["an unsigned image", "0 of the required 2 listed keys signed the image"],
    ["a Shielded VM", "hwmodel is not an allowed confidential-computing hardware model"],
    ["another restart policy", "the restart policy is not in the allow-list"],
    ["Secure Boot off", "Secure Boot must be enabled"],
    ["not Confidential Space", "swname must be CONFIDENTIAL_SPACE"],
  ];
  it.each(failures)("explains %s as: %s", (name, message) => {
    const row = POLICY_CASES.find((c) => c.name === name)!;
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    row.mutate(claims);
    const result = evaluatePolicy(policy, claims);
    expect(!result.ok && result.failed.message).toBe(message);
  });

  it("names a missing or mistyped claim of each kind", () => {
    const policy = { ...policyCasePolicy(goodClaims()), audience: "https://relying-party.example" };
    const cases: [(c: Record<string, unknown>) => void, string, string][] = [
      [(c) => delete c.aud, "audience", 'the token has no "aud" claim'],
      [(c) => (c.aud = 7), "audience", '"aud" must be a string or one string in an array'],
      [(c) => delete c.secboot, "secboot", 'the token has no "secboot" claim'],
      [(c) => (c.secboot = "true"), "secboot", '"secboot" must be a boolean'],
      [(c) => (c.hwmodel = ["GCP_INTEL_TDX"]), "hwmodel", '"hwmodel" must be a string'],
      [(c) => delete c.swversion, "swversion", 'the token has no "swversion" claim'],
      [(c) => (c.swversion = ["250301", "250302"]), "swversion", '"swversion" must be an array of one decimal string'],
      [(c) => delete c.google_service_accounts, "service_account", 'the token has no "google_service_accounts" claim'],
      [
        (c) => (c.google_service_accounts = "w@p"),
        "service_account",
        '"google_service_accounts" must be an array of strings',
      ],
      [
        (c) => ((c.submods as { container: Record<string, unknown> }).container.image_signatures = {}),
        "image_signatures",
        '"submods.container.image_signatures" must be an array',
      ],
      [
        (c) => ((c.submods as { container: Record<string, unknown> }).container.image_signatures = [null]),
        "image_signatures",
        'every entry of "submods.container.image_signatures" must have a string key_id',
      ],
    ];
    for (const [mutate, clause, message] of cases) {
      const claims = goodClaims();
      mutate(claims);
      const result = evaluatePolicy(policy, claims);
      expect(!result.ok && [result.failed.clause, result.failed.message]).toEqual([clause, message]);
      expect(!result.ok && result.failed.claim).toBe(
        evaluatePolicy(policy, goodClaims()).clauses.find((c) => c.clause === clause)?.claim,
      );
      expect(!result.ok && result.failed.problem).toBe(
        message.startsWith("the token has no") ? "missing_claim" : "claim_type",
      );
    }
  });

  it.each(POLICY_CASES)("refuses $name, naming the clause and claim", ({ mutate, clause, problem, claim }) => {
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    mutate(claims);
    const result = evaluatePolicy(policy, claims);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failed).toMatchObject({ clause, problem, claim, ok: false });
    expect(result.clauses.filter((c) => !c.ok)).toEqual([result.failed]);
  });

  it("shows the failed claim's value, and only key IDs of signatures", () => {
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    (claims.submods as { gce: Record<string, unknown> }).gce.project_id = "attacker-project";
    const result = evaluatePolicy(policy, claims);
    expect(!result.ok && result.failed.value).toBe("attacker-project");
    const signatures = result.clauses.find((c) => c.clause === "image_signatures");
    expect(signatures?.value).toEqual(POLICY_CASE_KEY_IDS.slice(0, 2));
    expect(signatures?.expected).toBe(`at least 2 of [${POLICY_CASE_KEY_IDS.join(", ")}]`);
    expect(JSON.stringify(result)).not.toContain("c2ln");
  });

  it("shortens long values and shows a malformed claim by its type only", () => {
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    (claims.submods as { container: Record<string, unknown> }).container.image_digest = "x".repeat(5000);
    const long = evaluatePolicy(policy, claims);
    expect(!long.ok && (long.failed.value as string).length).toBe(201);
    (claims.submods as { container: Record<string, unknown> }).container.image_digest = { secret: "hunter2" };
    const typed = evaluatePolicy(policy, claims);
    expect(!typed.ok && typed.failed).toMatchObject({ problem: "claim_type", value: "<object>" });
    expect(JSON.stringify(typed)).not.toContain("hunter2");
  });

  it("needs one listed service account among several, not all of them", () => {
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    claims.google_service_accounts = [
      "other@p.iam.gserviceaccount.com",
      ...(claims.google_service_accounts as string[]),
    ];
    expect(evaluatePolicy(policy, claims).ok).toBe(true);
  });

  it("counts each listed key once: threshold 2 needs two distinct listed signers", () => {
    const claims = goodClaims();
    const policy = validatePolicy({ imageSignatures: { keyIds: [...POLICY_CASE_KEY_IDS], threshold: 3 } });
    expect(evaluatePolicy(policy, claims)).toMatchObject({ ok: false, failed: { clause: "image_signatures" } });
    const two = validatePolicy({ imageSignatures: { keyIds: [...POLICY_CASE_KEY_IDS], threshold: 2 } });
    expect(evaluatePolicy(two, claims).ok).toBe(true);
    const one = validatePolicy({ imageSignatures: { keyIds: [POLICY_CASE_KEY_IDS[1]], threshold: 1 } });
    expect(evaluatePolicy(one, claims).ok).toBe(true);
  });

  it("refuses signature entries without a string key_id as a malformed claim", () => {
    const claims = goodClaims();
    (claims.submods as { container: Record<string, unknown> }).container.image_signatures = [{ key_id: 7 }];
    const result = evaluatePolicy(policyCasePolicy(goodClaims()), claims);
    expect(!result.ok && result.failed).toMatchObject({ clause: "image_signatures", problem: "claim_type" });
  });

  it("reports a missing claim and a non-object on the way as such", () => {
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    delete claims.hwmodel;
    expect(evaluatePolicy(policy, claims)).toMatchObject({ failed: { clause: "hwmodel", problem: "missing_claim" } });
    const flat = { ...goodClaims(), submods: "none" };
    expect(evaluatePolicy(policy, flat)).toMatchObject({
      failed: { clause: "support_attributes", problem: "claim_type", message: '"submods" must be an object' },
    });
  });

  it("treats absent support attributes as none: passes with [] and fails STABLE", () => {
    const claims = goodClaims();
    delete (claims.submods as { confidential_space: Record<string, unknown> }).confidential_space.support_attributes;
    const debugOk = { allowAnyWorkload: true, supportAttributes: [] } as const;
    expect(evaluatePolicy(debugOk, claims).ok).toBe(true);
    expect(evaluatePolicy({ allowAnyWorkload: true }, claims)).toMatchObject({
      failed: { clause: "support_attributes", problem: "mismatch" },
    });
  });

  it("admits a debug image only with allowDebug, still requiring dbgstat", () => {
    const claims = { ...goodClaims(), dbgstat: "enabled" };
    expect(evaluatePolicy({ allowAnyWorkload: true }, claims).ok).toBe(false);
    expect(evaluatePolicy({ allowAnyWorkload: true, allowDebug: true }, claims).ok).toBe(true);
    const { dbgstat: _, ...none } = claims;
    expect(evaluatePolicy({ allowAnyWorkload: true, allowDebug: true }, none)).toMatchObject({
      failed: { clause: "dbgstat", problem: "missing_claim" },
    });
  });

  it("checks the audience only when the policy names one; a one-element array counts", () => {
    const claims = goodClaims();
    const policy = { allowAnyWorkload: true, audience: "https://relying-party.example" };
    expect(evaluatePolicy(policy, claims).clauses[0]).toMatchObject({ clause: "audience", ok: true });
    expect(evaluatePolicy(policy, { ...claims, aud: ["https://relying-party.example"] }).ok).toBe(true);
    expect(evaluatePolicy(policy, { ...claims, aud: "https://other.example" })).toMatchObject({
      failed: {
        clause: "audience",
        claim: "aud",
        problem: "mismatch",
        value: "https://other.example",
        message: "the token is for another audience",
      },
    });
    expect(evaluatePolicy(policy, { ...claims, aud: ["a", "b"] })).toMatchObject({
      failed: { clause: "audience", problem: "claim_type" },
    });
    expect(evaluatePolicy({ allowAnyWorkload: true }, claims).clauses.some((c) => c.clause === "audience")).toBe(false);
  });

  it("checks the swversion format even without minSwVersion", () => {
    const claims = { ...goodClaims(), swversion: ["25.03"] };
    expect(evaluatePolicy({ allowAnyWorkload: true }, claims)).toMatchObject({
      failed: { clause: "swversion", problem: "claim_type" },
    });
  });

  it("needs no second validation for a validated policy, and validates a plain one", () => {
    const claims = goodClaims();
    expect(() => evaluatePolicy({ imageDigest: [DIGEST] } as never, claims)).toThrow(/policy\.imageDigest /);
    const policy = validatePolicy(policyCasePolicy(claims));
    expect(evaluatePolicy(policy, claims).ok).toBe(true);
  });

  it("never throws for hostile claims", () => {
    const policy = validatePolicy(policyCasePolicy(goodClaims()));
    for (const claims of [
      {},
      { submods: null },
      { submods: [] },
      Object.create(null),
      { __proto__: { hwmodel: "GCP_AMD_SEV" } },
    ]) {
      expect(evaluatePolicy(policy, claims as Record<string, unknown>).ok).toBe(false);
    }
  });
});

describe("findPolicyFailure", () => {
  it("calls a claim under an absent object missing, not malformed (the walk stops at the gap)", () => {
    const claims = goodClaims();
    const policy = policyCasePolicy(claims);
    delete (claims.submods as Record<string, unknown>).gce;
    expect(evaluatePolicy(policy, claims)).toMatchObject({
      ok: false,
      failed: { clause: "project_id", problem: "missing_claim", claim: "submods.gce.project_id" },
    });
    delete claims.submods;
    expect(evaluatePolicy(policy, claims)).toMatchObject({
      ok: false,
      failed: { clause: "support_attributes", problem: "mismatch" },
    });
  });

  it("returns undefined for admitted claims and the frozen failed clause otherwise, building no passing clause", () => {
    const claims = goodClaims();
    const policy = validatePolicy(policyCasePolicy(claims));
    expect(findPolicyFailure(policy, claims)).toBeUndefined();
    claims.secboot = false;
    const failed = findPolicyFailure(policy, claims);
    expect(failed).toMatchObject({ clause: "secboot", ok: false, problem: "mismatch" });
    expect(Object.isFrozen(failed)).toBe(true);
  });

  it("validates a policy that validatePolicy did not make, and never throws for hostile claims", () => {
    expect(() => findPolicyFailure({} as never, goodClaims())).toThrow(/pin/);
    const policy = policyCasePolicy(goodClaims());
    for (const hostile of [null, undefined, 7, "x", [], { submods: "x" }, { submods: { container: [] } }]) {
      expect(findPolicyFailure(policy, hostile as never)).toMatchObject({ ok: false });
    }
  });
});
