import { POLICY_CASES, policyCasePolicy, preparePolicyClaims } from "@confspace/testing";
import { describe, expect, it } from "vitest";
import type { GrantConfig, GrantMatch } from "../config-types.js";
import { awsProvider } from "../providers/aws.js";
import { azureProvider } from "../providers/azure.js";
import { compileGrants, findGrant } from "./grants.js";

const PROVIDERS = [azureProvider, awsProvider];

const DIGEST = `sha256:${"1a".repeat(32)}`;
const SCOPE = "https://storage.azure.com/.default";
const SA_B = "b@p.iam.gserviceaccount.com";
const ROLE = "arn:aws:iam::123456789012:role/reader";

function claims(): Record<string, unknown> {
  return {
    hwmodel: "GCP_AMD_SEV",
    swname: "CONFIDENTIAL_SPACE",
    secboot: true,
    swversion: ["250301"],
    dbgstat: "disabled-since-boot",
    google_service_accounts: ["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"],
    submods: {
      container: {
        image_digest: DIGEST,
        restart_policy: "Never",
        image_signatures: [{ key_id: "kid-1", signature: "sig", signature_algorithm: "ECDSA_P256_SHA256" }],
      },
      gce: { project_id: "my-project", project_number: "42", instance_id: "7" },
      confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
    },
  };
}

const matchOf = (match: GrantMatch) =>
  compileGrants([{ name: "g", match, azure: [{ tenant: "t", scopes: [SCOPE] }] }], PROVIDERS)[0]!.matches;

describe("grant matching", () => {
  it.each<[string, GrantMatch, boolean]>([
    ["the digest", { imageDigests: [DIGEST] }, true],
    ["another digest", { imageDigests: [`sha256:${"2b".repeat(32)}`] }, false],
    ["project id with a service account", { projectIds: ["my-project"], serviceAccounts: [SA_B] }, true],
    ["project id prefix", { projectIds: ["my-proj"], serviceAccounts: [SA_B] }, false],
    ["project number with a service account", { projectNumbers: ["42"], serviceAccounts: [SA_B] }, true],
    ["no service account", { projectNumbers: ["42"], serviceAccounts: ["c@p.iam.gserviceaccount.com"] }, false],
    ["a signature key, one of two", { imageSignatures: { keyIds: ["kid-0", "kid-1"], threshold: 1 } }, true],
    ["no listed signature key", { imageSignatures: { keyIds: ["kid-2"], threshold: 1 } }, false],
    ["two of two keys, one signed", { imageSignatures: { keyIds: ["kid-0", "kid-1"], threshold: 2 } }, false],
    ["any workload", { allowAnyWorkload: true, hardwareModels: ["GCP_AMD_SEV"] }, true],
    ["hardware", { imageDigests: [DIGEST], hardwareModels: ["GCP_INTEL_TDX"] }, false],
    ["support attributes present", { imageDigests: [DIGEST], supportAttributes: ["STABLE", "LATEST"] }, true],
    ["support attribute absent", { imageDigests: [DIGEST], supportAttributes: ["EXPERIMENTAL"] }, false],
    ["min version met", { imageDigests: [DIGEST], minSwVersion: 250301 }, true],
    ["min version not met", { imageDigests: [DIGEST], minSwVersion: 250302 }, false],
    ["restart policy", { imageDigests: [DIGEST], restartPolicies: ["Always"] }, false],
    ["all conditions (AND)", { imageDigests: [DIGEST], projectIds: ["other-project"], serviceAccounts: [SA_B] }, false],
    ["an audience the claims lack", { imageDigests: [DIGEST], audience: "x" }, false],
  ])("%s", (_name, match, expected) => {
    expect(matchOf(match)(claims())).toBe(expected);
  });

  it.each<[string, (c: Record<string, unknown>) => void]>([
    [
      "support attributes as a string containing STABLE",
      (c) => {
        (c.submods as { confidential_space: { support_attributes: unknown } }).confidential_space.support_attributes =
          "UNSTABLE";
      },
    ],
    [
      "a digest that is an array",
      (c) => {
        (c.submods as { container: { image_digest: unknown } }).container.image_digest = [DIGEST];
      },
    ],
    [
      "service accounts as a string",
      (c) => {
        c.google_service_accounts = "b@p.iam.gserviceaccount.com";
      },
    ],
    [
      "a debug image",
      (c) => {
        c.dbgstat = "enabled";
      },
    ],
  ])("does not match %s", (_name, mutate) => {
    const c = claims();
    mutate(c);
    const match = matchOf({
      imageDigests: [DIGEST],
      serviceAccounts: ["b@p.iam.gserviceaccount.com"],
      supportAttributes: ["STABLE"],
    });
    expect(match(c)).toBe(false);
    expect(match(claims())).toBe(true);
  });

  it("matches a debug image only when the grant allows debug (and no support attributes, as debug images have none)", () => {
    const c: Record<string, unknown> = { ...claims(), dbgstat: "enabled" };
    expect(matchOf({ imageDigests: [DIGEST] })(c)).toBe(false);
    expect(matchOf({ imageDigests: [DIGEST], allowDebug: true })(c)).toBe(true);
    delete (c.submods as { confidential_space: Record<string, unknown> }).confidential_space.support_attributes;
    expect(matchOf({ imageDigests: [DIGEST], allowDebug: true })(c)).toBe(false);
    expect(matchOf({ imageDigests: [DIGEST], allowDebug: true, supportAttributes: [] })(c)).toBe(true);
  });

  it("refuses a match that is not a valid policy when compiled", () => {
    expect(() => matchOf({ projectIds: ["my-project"] })).toThrow(/pins no workload/);
    expect(() => matchOf({ imageDigests: [`${DIGEST} `] })).toThrow(/match\.imageDigests\[0\]/);
  });
});

describe("the one policy table (shared with @confspace/policy and the verifier)", () => {
  const good = () => preparePolicyClaims(claims());
  const match = () => matchOf(policyCasePolicy(good()));

  it("matches the table's good claims", () => {
    expect(match()(good())).toBe(true);
  });

  it.each(POLICY_CASES)("does not match $name", ({ mutate }) => {
    const c = good();
    mutate(c);
    expect(match()(c)).toBe(false);
  });
});

describe("findGrant", () => {
  const grants: GrantConfig[] = [
    {
      name: "other-image",
      match: { imageDigests: [`sha256:${"3c".repeat(32)}`] },
      azure: [{ tenant: "x", scopes: [SCOPE] }],
    },
    {
      name: "blob",
      match: { imageDigests: [DIGEST] },
      azure: [
        { tenant: "a", scopes: [SCOPE] },
        { tenant: "b", scopes: [SCOPE] },
      ],
    },
    {
      name: "s3",
      match: { projectIds: ["my-project"], serviceAccounts: [SA_B] },
      aws: [{ roleArn: ROLE, maxDurationSeconds: 900 }],
    },
  ];
  const compiled = compileGrants(grants, PROVIDERS);
  const findAzureGrant = (grants: typeof compiled, c: Record<string, unknown>, scope: string) =>
    findGrant(grants, c, azureProvider, { scope });
  const findAwsGrant = (grants: typeof compiled, c: Record<string, unknown>, roleArn: string) =>
    findGrant(grants, c, awsProvider, { roleArn }) as
      | { granted: true; value: { maxDurationSeconds: number } }
      | { granted: false };

  it("picks the first matching grant listing the scope, and its first tenant", () => {
    const found = findAzureGrant(compiled, claims(), SCOPE);
    expect(found).toMatchObject({ granted: true, value: "a" });
    expect(found.granted && found.grant.name).toBe("blob");
  });

  it("tells 'no grant matches' from 'not granted'", () => {
    expect(findAzureGrant(compiled, claims(), "https://vault.azure.net/.default")).toEqual({
      granted: false,
      reason: "not_granted",
    });
    const stranger = { ...claims(), submods: { container: { image_digest: "sha256:x" }, gce: { project_id: "p" } } };
    expect(findAzureGrant(compiled, stranger, SCOPE)).toEqual({ granted: false, reason: "no_matching_grant" });
  });

  it("finds an AWS role with its limits, defaulting the duration to an hour", () => {
    const found = findAwsGrant(compiled, claims(), ROLE);
    expect(found.granted && found.value).toEqual({
      roleArn: ROLE,
      maxDurationSeconds: 900,
      sessionTags: undefined,
      setSourceIdentity: false,
    });
    const defaulted = compileGrants(
      [{ name: "d", match: { imageDigests: [DIGEST] }, aws: [{ roleArn: ROLE }] }],
      PROVIDERS,
    );
    const value = findAwsGrant(defaulted, claims(), ROLE);
    expect(value.granted && value.value.maxDurationSeconds).toBe(3600);
    expect(findAwsGrant(compiled, claims(), `${ROLE}2`).granted).toBe(false);
  });
});
