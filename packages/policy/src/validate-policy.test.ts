import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { isValidatedPolicy, pinsWorkload, validatePolicy } from "./validate-policy.js";
import type { WorkloadPolicy } from "./workload-policy.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
const KEY = "b".repeat(64);
/** A valid policy that pins the workload; each refused row changes one thing. */
const BASE: WorkloadPolicy = { imageDigests: [DIGEST] };

function optionError(policy: unknown, path?: string): InvalidOptionError {
  try {
    validatePolicy(policy as WorkloadPolicy, path === undefined ? undefined : { path });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  return expect.unreachable("the policy was accepted");
}

describe("validatePolicy", () => {
  const refused: [string, unknown, option: string][] = [
    ["not an object", [], "policy"],
    ["null", null, "policy"],
    ["an unknown key (singular imageDigest)", { imageDigest: [DIGEST] }, "policy.imageDigest"],
    ["the old imageSignatureKeyIds", { imageSignatureKeyIds: [KEY] }, "policy.imageSignatureKeyIds"],
    ["snake_case", { image_digests: [DIGEST] }, "policy.image_digests"],
    ["a digest with a trailing space", { imageDigests: [`${DIGEST} `] }, "policy.imageDigests[0]"],
    [
      "an uppercase digest",
      { imageDigests: [DIGEST.toUpperCase().replace("SHA256", "sha256")] },
      "policy.imageDigests[0]",
    ],
    ["a short digest", { imageDigests: ["sha256:abc"] }, "policy.imageDigests[0]"],
    ["a digest without sha256:", { imageDigests: ["a".repeat(64)] }, "policy.imageDigests[0]"],
    ["a digest string instead of a list", { imageDigests: DIGEST }, "policy.imageDigests"],
    ["an empty digest list", { imageDigests: [] }, "policy.imageDigests"],
    ["a duplicate digest", { imageDigests: [DIGEST, DIGEST] }, "policy.imageDigests[1]"],
    ["a number in a list", { ...BASE, projectIds: [42] }, "policy.projectIds[0]"],
    ["a malformed project id", { ...BASE, projectIds: ["My Project"] }, "policy.projectIds[0]"],
    ["a project number with letters", { ...BASE, projectNumbers: ["12ab"] }, "policy.projectNumbers[0]"],
    ["a project number as a number", { ...BASE, projectNumbers: [123] }, "policy.projectNumbers[0]"],
    ["a service account without @", { ...BASE, serviceAccounts: ["workload"] }, "policy.serviceAccounts[0]"],
    ["GCP_SHIELDED_VM", { ...BASE, hardwareModels: ["GCP_AMD_SEV", "GCP_SHIELDED_VM"] }, "policy.hardwareModels[1]"],
    ["an unknown hardware model", { ...BASE, hardwareModels: ["GCP_AMD_SEV_SNP"] }, "policy.hardwareModels[0]"],
    ["an empty hardware list", { ...BASE, hardwareModels: [] }, "policy.hardwareModels"],
    ["an unknown support attribute", { ...BASE, supportAttributes: ["stable"] }, "policy.supportAttributes[0]"],
    ["support attributes as a string", { ...BASE, supportAttributes: "STABLE" }, "policy.supportAttributes"],
    ["an unknown restart policy", { ...BASE, restartPolicies: ["always"] }, "policy.restartPolicies[0]"],
    ["a fractional minSwVersion", { ...BASE, minSwVersion: 1.5 }, "policy.minSwVersion"],
    ["a negative minSwVersion", { ...BASE, minSwVersion: -1 }, "policy.minSwVersion"],
    ["minSwVersion as a string", { ...BASE, minSwVersion: "240500" }, "policy.minSwVersion"],
    ["allowDebug as a string", { ...BASE, allowDebug: "true" }, "policy.allowDebug"],
    ["an empty audience", { ...BASE, audience: "" }, "policy.audience"],
    ["an audience with a trailing space", { ...BASE, audience: "https://a.example " }, "policy.audience"],
    ["an audience over 512 bytes", { ...BASE, audience: `https://${"a".repeat(510)}` }, "policy.audience"],
    ["signatures without keyIds", { imageSignatures: { threshold: 1 } }, "policy.imageSignatures.keyIds"],
    ["signatures without threshold", { imageSignatures: { keyIds: [KEY] } }, "policy.imageSignatures.threshold"],
    ["threshold 0", { imageSignatures: { keyIds: [KEY], threshold: 0 } }, "policy.imageSignatures.threshold"],
    ["threshold above N", { imageSignatures: { keyIds: [KEY], threshold: 2 } }, "policy.imageSignatures.threshold"],
    [
      "a fractional threshold",
      { imageSignatures: { keyIds: [KEY, "c"], threshold: 1.5 } },
      "policy.imageSignatures.threshold",
    ],
    [
      "a duplicate key id",
      { imageSignatures: { keyIds: [KEY, KEY], threshold: 1 } },
      "policy.imageSignatures.keyIds[1]",
    ],
    [
      "an unknown signature field",
      { imageSignatures: { keyIds: [KEY], threshold: 1, m: 1 } },
      "policy.imageSignatures.m",
    ],
    [
      "a key id with a space",
      { imageSignatures: { keyIds: ["key one"], threshold: 1 } },
      "policy.imageSignatures.keyIds[0]",
    ],
    ["no pin at all", {}, "policy"],
    ["a project without service accounts", { projectIds: ["my-project"] }, "policy"],
    ["service accounts without a project", { serviceAccounts: ["w@p.iam.gserviceaccount.com"] }, "policy"],
    ["allowAnyWorkload with a pin", { ...BASE, allowAnyWorkload: true }, "policy.allowAnyWorkload"],
    ["allowAnyWorkload as a string", { allowAnyWorkload: "true" }, "policy.allowAnyWorkload"],
    ["allowAnyWorkload false and no pin", { allowAnyWorkload: false }, "policy"],
  ];

  it.each(refused)("refuses %s, naming the option", (_name, policy, option) => {
    const error = optionError(policy);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option });
    expect(error.message.startsWith(`${option} `)).toBe(true);
  });

  it("says what replaced imageSignatureKeyIds, and lists the known fields for other keys", () => {
    expect(optionError({ imageSignatureKeyIds: [KEY] }).message).toMatch(/imageSignatures: \{ keyIds, threshold \}/);
    expect(optionError({ imageDigest: [DIGEST] }).message).toMatch(/known: imageDigests, imageSignatures/);
    expect(optionError({ toString: [DIGEST] }).message).toMatch(/is not a policy field/);
  });

  const messages: [unknown, string][] = [
    [[], "policy must be an object"],
    [{ imageDigests: [`${DIGEST} `] }, "policy.imageDigests[0] has leading or trailing whitespace (matching is exact)"],
    [{ imageDigests: ["sha256:abc"] }, 'policy.imageDigests[0] must be "sha256:" followed by 64 lowercase hex digits'],
    [{ imageDigests: [""] }, "policy.imageDigests[0] must be a non-empty string"],
    [{ imageDigests: [`sha256:${"a".repeat(3000)}`] }, "policy.imageDigests[0] must be at most 2048 characters"],
    [{ imageDigests: DIGEST }, "policy.imageDigests must be an array of strings"],
    [{ imageDigests: [] }, "policy.imageDigests must not be empty (omit it to skip the check)"],
    [{ imageDigests: [DIGEST, DIGEST] }, "policy.imageDigests[1] is listed twice"],
    [
      { ...BASE, projectIds: ["P"] },
      "policy.projectIds[0] must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)",
    ],
    [{ ...BASE, projectNumbers: ["x"] }, "policy.projectNumbers[0] must be a project number (a decimal string)"],
    [{ ...BASE, serviceAccounts: ["x"] }, "policy.serviceAccounts[0] must be a service account email"],
    [
      { ...BASE, serviceAccounts: [`${"a".repeat(320)}@p`] },
      "policy.serviceAccounts[0] must be at most 320 characters",
    ],
    [
      { ...BASE, hardwareModels: ["GCP_SHIELDED_VM"] },
      "policy.hardwareModels[0] GCP_SHIELDED_VM is not a confidential-computing TEE",
    ],
    [
      { ...BASE, hardwareModels: ["X"] },
      "policy.hardwareModels[0] must be one of GCP_AMD_SEV, GCP_AMD_SEV_ES, GCP_INTEL_TDX",
    ],
    [
      { ...BASE, supportAttributes: ["X"] },
      "policy.supportAttributes[0] must be one of EXPERIMENTAL, USABLE, STABLE, LATEST",
    ],
    [{ ...BASE, restartPolicies: ["X"] }, "policy.restartPolicies[0] must be one of Always, OnFailure, Never"],
    [{ ...BASE, minSwVersion: -1 }, "policy.minSwVersion must be a non-negative integer (e.g. 240500)"],
    [{ ...BASE, allowDebug: 1 }, "policy.allowDebug must be true or false"],
    [{ ...BASE, audience: "a b" }, "policy.audience must not contain whitespace"],
    [{ ...BASE, audience: `https://${"a".repeat(510)}` }, "policy.audience must be at most 512 bytes"],
    [
      { imageSignatures: { threshold: 1 } },
      "policy.imageSignatures.keyIds is required (the key IDs whose signatures count)",
    ],
    [
      { imageSignatures: { keyIds: [KEY] } },
      "policy.imageSignatures.threshold is required: how many of keyIds must have signed the image (1 for any one)",
    ],
    [
      { imageSignatures: { keyIds: [KEY], threshold: 0 } },
      "policy.imageSignatures.threshold must be a positive integer",
    ],
    [
      { imageSignatures: { keyIds: [KEY], threshold: 2 } },
      "policy.imageSignatures.threshold must be at most the number of keyIds (1)",
    ],
    [
      { imageSignatures: { keyIds: ["a b"], threshold: 1 } },
      "policy.imageSignatures.keyIds[0] must be an image-signature key ID (the lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo)",
    ],
    [
      { ...BASE, allowAnyWorkload: true },
      "policy.allowAnyWorkload contradicts the workload pin of the policy (remove one of the two)",
    ],
    [
      {},
      "policy pins no workload: anyone can run a Confidential Space VM and get a Google-signed token for any audience. " +
        "Set imageDigests, imageSignatures, or projectIds/projectNumbers together with serviceAccounts (or allowAnyWorkload: true to admit every workload)",
    ],
  ];
  it.each(messages)("says exactly why %j is refused", (policy, message) => {
    expect(optionError(policy).message).toBe(message);
  });

  it("prefixes errors with the caller's path", () => {
    expect(optionError({ imageDigests: ["x"] }, "grants[2].match").option).toBe("grants[2].match.imageDigests[0]");
  });

  it("applies the secure defaults and freezes the result", () => {
    const policy = validatePolicy(BASE);
    expect(policy).toEqual({
      imageDigests: [DIGEST],
      hardwareModels: ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"],
      supportAttributes: ["STABLE"],
      allowDebug: false,
      allowAnyWorkload: false,
    });
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.imageDigests)).toBe(true);
  });

  it("leaves out the fields the policy does not set, and takes boundary values", () => {
    expect(Object.keys(validatePolicy(BASE))).toEqual([
      "imageDigests",
      "hardwareModels",
      "supportAttributes",
      "allowDebug",
      "allowAnyWorkload",
    ]);
    expect(validatePolicy({ ...BASE, minSwVersion: 0 }).minSwVersion).toBe(0);
    const audience = `https://${"a".repeat(504)}`;
    expect(Buffer.byteLength(audience)).toBe(512);
    expect(validatePolicy({ ...BASE, audience }).audience).toBe(audience);
    expect(
      validatePolicy({ imageDigests: [`sha256:${"a".repeat(64)}`], serviceAccounts: [`${"a".repeat(318)}@p`] }),
    ).toBeDefined();
  });

  it("anchors every format at both ends", () => {
    const refusedValues: [WorkloadPolicy, string][] = [
      [{ imageDigests: [`x${DIGEST}`] }, "policy.imageDigests[0]"],
      [{ imageDigests: [`${DIGEST}a`] }, "policy.imageDigests[0]"],
      [{ ...BASE, projectIds: ["my-project."] }, "policy.projectIds[0]"],
      [{ ...BASE, projectIds: [".my-project"] }, "policy.projectIds[0]"],
      [{ ...BASE, projectNumbers: ["x123"] }, "policy.projectNumbers[0]"],
      [{ ...BASE, projectNumbers: ["123x"] }, "policy.projectNumbers[0]"],
      [{ ...BASE, serviceAccounts: ["a b@c.example"] }, "policy.serviceAccounts[0]"],
      [{ ...BASE, serviceAccounts: ["a@b c.example"] }, "policy.serviceAccounts[0]"],
    ];
    for (const [policy, option] of refusedValues) expect(optionError(policy).option).toBe(option);
    expect(validatePolicy({ ...BASE, projectIds: ["example.com:my-project"] }).projectIds).toEqual([
      "example.com:my-project",
    ]);
    expect(optionError(undefined).message).toBe("policy must be an object");
  });

  it("takes a null-prototype object (as some YAML and JSON readers make) and refuses other objects", () => {
    const bare = Object.assign(Object.create(null), { imageDigests: [DIGEST] });
    expect(validatePolicy(bare).imageDigests).toEqual([DIGEST]);
    expect(optionError(new Map([["imageDigests", [DIGEST]]])).option).toBe("policy");
    expect(
      optionError(
        new (class Policy {
          imageDigests = [DIGEST];
        })(),
      ).option,
    ).toBe("policy");
    expect(optionError({ imageSignatures: [] }).option).toBe("policy.imageSignatures");
    expect(isValidatedPolicy(null)).toBe(false);
    expect(isValidatedPolicy("policy")).toBe(false);
  });

  it("copies the caller's lists, so a later change to them changes nothing", () => {
    const digests = [DIGEST];
    const policy = validatePolicy({ imageDigests: digests });
    digests.push(`sha256:${"b".repeat(64)}`);
    expect(policy.imageDigests).toEqual([DIGEST]);
  });

  it("accepts every pin, M of N signatures, supportAttributes [] and allowAnyWorkload alone", () => {
    expect(
      validatePolicy({ imageSignatures: { keyIds: [KEY, "c".repeat(64)], threshold: 2 } }).imageSignatures,
    ).toEqual({
      keyIds: [KEY, "c".repeat(64)],
      threshold: 2,
    });
    expect(() =>
      validatePolicy({ projectNumbers: ["1"], serviceAccounts: ["w@p.iam.gserviceaccount.com"] }),
    ).not.toThrow();
    expect(
      validatePolicy({ allowAnyWorkload: true, supportAttributes: [], allowDebug: true }).supportAttributes,
    ).toEqual([]);
  });

  it("returns a validated policy as it is, and knows which ones it made", () => {
    const policy = validatePolicy(BASE);
    expect(validatePolicy(policy)).toBe(policy);
    expect(isValidatedPolicy(policy)).toBe(true);
    expect(isValidatedPolicy({ ...policy })).toBe(false);
  });

  it("counts a project only together with service accounts as a pin", () => {
    expect(pinsWorkload({ projectIds: ["my-project"] })).toBe(false);
    expect(pinsWorkload({ projectIds: ["my-project"], serviceAccounts: ["w@p"] })).toBe(true);
    expect(pinsWorkload({ imageSignatures: { keyIds: [KEY], threshold: 1 } })).toBe(true);
  });
});
