import { describe, expect, it } from "vitest";
import type { GrantConfig, GrantMatch } from "../config-types.js";
import { awsProvider } from "../providers/aws.js";
import { azureProvider } from "../providers/azure.js";
import { compileGrants, findGrant } from "./grants.js";

const PROVIDERS = [azureProvider, awsProvider];

const DIGEST = `sha256:${"1a".repeat(32)}`;
const SCOPE = "https://storage.azure.com/.default";
const ROLE = "arn:aws:iam::123456789012:role/reader";

function claims(): Record<string, unknown> {
  return {
    hwmodel: "GCP_AMD_SEV",
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
    ["the digest in upper case", { imageDigests: [DIGEST.toUpperCase()] }, false],
    ["project id", { projectIds: ["my-project"] }, true],
    ["project id prefix", { projectIds: ["my-proj"] }, false],
    ["project number", { projectNumbers: ["42"] }, true],
    ["one of the service accounts", { serviceAccounts: ["b@p.iam.gserviceaccount.com"] }, true],
    ["no service account", { serviceAccounts: ["c@p.iam.gserviceaccount.com"] }, false],
    ["a signature key", { imageSignatureKeyIds: ["kid-0", "kid-1"] }, true],
    ["no signature key", { imageSignatureKeyIds: ["kid-2"] }, false],
    ["any workload", { allowAnyWorkload: true, hardwareModels: ["GCP_AMD_SEV"] }, true],
    ["hardware", { imageDigests: [DIGEST], hardwareModels: ["GCP_INTEL_TDX"] }, false],
    ["support attributes present", { imageDigests: [DIGEST], supportAttributes: ["STABLE", "LATEST"] }, true],
    ["support attribute absent", { imageDigests: [DIGEST], supportAttributes: ["EXPERIMENTAL"] }, false],
    ["min version met", { imageDigests: [DIGEST], minSwVersion: 250301 }, true],
    ["min version not met", { imageDigests: [DIGEST], minSwVersion: 250302 }, false],
    ["restart policy", { imageDigests: [DIGEST], restartPolicies: ["Always"] }, false],
    ["all conditions (AND)", { imageDigests: [DIGEST], projectIds: ["other"] }, false],
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

  it("matches a debug image only when the grant allows debug", () => {
    const c = { ...claims(), dbgstat: "enabled" };
    expect(matchOf({ imageDigests: [DIGEST] })(c)).toBe(false);
    expect(matchOf({ imageDigests: [DIGEST], allowDebug: true })(c)).toBe(true);
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
    { name: "s3", match: { projectIds: ["my-project"] }, aws: [{ roleArn: ROLE, maxDurationSeconds: 900 }] },
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
