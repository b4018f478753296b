import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { explainPolicy } from "./explain-policy.js";

const DIGEST = `sha256:${"e4".repeat(32)}`;
const CLAIMS = {
  iss: "https://confidentialcomputing.googleapis.com",
  aud: "https://sts.googleapis.com",
  sub: "https://www.googleapis.com/compute/v1/projects/op-project/zones/z/instances/i",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  hwmodel: "GCP_AMD_SEV",
  secboot: true,
  dbgstat: "disabled-since-boot",
  submods: { confidential_space: { support_attributes: ["STABLE"] }, container: { image_digest: DIGEST } },
  "https://aws.amazon.com/tags": {
    principal_tags: { swname: ["CONFIDENTIAL_SPACE"], "container.image_digest": [DIGEST] },
  },
};

describe("explainPolicy", () => {
  it("reads gcloud's provider JSON: audiences and issuer (a trailing slash is fine there) as well as the condition", () => {
    const provider = {
      name: "projects/1/locations/global/workloadIdentityPools/pool/providers/prov",
      attributeCondition: `assertion.submods.container.image_digest == '${DIGEST}'`,
      attributeMapping: { "google.subject": "assertion.sub" },
      oidc: { issuerUri: "https://confidentialcomputing.googleapis.com/", allowedAudiences: ["https://other.example"] },
    };
    const result = explainPolicy(CLAIMS, JSON.stringify(provider));
    expect(result.format).toBe("gcp");
    expect(result.clauses.map((c) => c.ok)).toEqual([false, true, true]);
    expect(result.failed).toMatchObject({ claim: "aud", value: "https://sts.googleapis.com" });
  });

  it("without allowed audiences, expects Google's default: the provider's resource name", () => {
    const name = "projects/1/locations/global/workloadIdentityPools/pool/providers/prov";
    const provider = {
      name,
      attributeCondition: "true",
      oidc: { issuerUri: "https://confidentialcomputing.googleapis.com" },
    };
    expect(explainPolicy(CLAIMS, provider).failed).toMatchObject({
      claim: "aud",
      clause: expect.stringContaining(`//iam.googleapis.com/${name}`),
    });
    expect(explainPolicy({ ...CLAIMS, aud: `https://iam.googleapis.com/${name}` }, provider).admitted).toBe(true);
  });

  it("names a trust-policy condition on a tag Google never sends", () => {
    const policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/confidentialcomputing.googleapis.com" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              "aws:RequestTag/container.image_digest": DIGEST,
              "aws:RequestTag/dbgstat": "disabled-since-boot",
            },
          },
        },
      ],
    };
    const result = explainPolicy(CLAIMS, policy);
    expect(result.admitted).toBe(false);
    expect(result.failed?.clause).toContain("aws:RequestTag/dbgstat");
    expect(result.failed?.message).toContain("Google's principal tags have no dbgstat tag");
  });

  it("reads the output of vault read -format=json and aws iam get-role", () => {
    const role = {
      role_type: "jwt",
      bound_audiences: ["https://sts.googleapis.com"],
      bound_claims: { "/swname": "GCE" },
    };
    const vault = explainPolicy(CLAIMS, { request_id: "r-1", lease_id: "", data: role });
    expect(vault).toMatchObject({
      format: "vault-role",
      admitted: false,
      failed: { claim: "swname", value: "CONFIDENTIAL_SPACE" },
    });
    const trust = {
      Statement: [
        {
          Effect: "Allow",
          Principal: "*",
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "aws:RequestTag/swname": "GCE" } },
        },
      ],
    };
    const aws = explainPolicy(CLAIMS, {
      Role: { RoleName: "r", AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)) },
    });
    expect(aws).toMatchObject({ format: "aws", admitted: false });
  });

  it("a Deny statement that matches refuses, whatever the Allow says", () => {
    const allow = { Effect: "Allow", Principal: "*", Action: "sts:AssumeRoleWithWebIdentity", Condition: {} };
    const deny = { ...allow, Effect: "Deny", Condition: { StringLike: { "aws:RequestTag/swname": "CONFIDENTIAL*" } } };
    expect(explainPolicy(CLAIMS, { Statement: [allow] }).admitted).toBe(true);
    expect(explainPolicy(CLAIMS, { Statement: [allow, deny] }).admitted).toBe(false);
  });

  it("reads a YAML policy and refuses an unknown key, naming it", () => {
    expect(explainPolicy(CLAIMS, `imageDigests: ["${DIGEST}"]\n`).admitted).toBe(true);
    expect(() => explainPolicy(CLAIMS, `imageDigest: ["${DIGEST}"]\n`)).toThrow(InvalidOptionError);
  });

  it("refuses a token that is not a JWT without echoing it", () => {
    expect(() => explainPolicy("not-a-token-secret", "true")).toThrow(
      expect.objectContaining({ option: "token", message: expect.not.stringContaining("not-a-token-secret") }),
    );
  });
});
