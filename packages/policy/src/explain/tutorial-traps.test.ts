// The tutorial's traps, each a test: the renderers never produce them, and explain points
// at each when given the tutorial's own text.
import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { renderAws, renderGcp, renderVault } from "../render/index.js";
import { explainPolicy } from "./explain-policy.js";

const DIGEST = `sha256:${"e4".repeat(32)}`;
const ISSUER = "https://confidentialcomputing.googleapis.com";
const AUDIENCE = "https://vault.example.com";
const CLAIMS = {
  iss: ISSUER,
  aud: AUDIENCE,
  sub: "https://www.googleapis.com/compute/v1/projects/op/zones/us-central1-a/instances/wordcount",
  eat_nonce: "binding-nonce-do-not-show",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  hwmodel: "GCP_AMD_SEV",
  secboot: true,
  dbgstat: "disabled-since-boot",
  google_service_accounts: ["operator@op-project.iam.gserviceaccount.com"],
  submods: {
    confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
    container: {
      image_digest: DIGEST,
      image_reference: `us-docker.pkg.dev/a/b/c@${DIGEST}`,
      restart_policy: "Never",
      env: { API_KEY: "env-secret-do-not-show" },
    },
    gce: { project_id: "op-project", project_number: "123456789", zone: "us-central1-a", instance_name: "wordcount" },
  },
};
const POLICY = { imageDigests: [DIGEST], audience: AUDIENCE, minSwVersion: 250000 } as const;

/** As the tutorial writes them. */
const TUTORIAL = {
  role: JSON.stringify({
    role_type: "jwt",
    user_claim: "sub",
    bound_audiences: [AUDIENCE],
    bound_claims_type: "string",
    bound_claims: { "/submods/container/image_digest": `${DIGEST} `, swname: "CONFIDENTIAL_SPACE" },
    claims_mappings: { "/submods/gce/project_id": "project_id" },
    token_policies: ["wordcount"],
  }),
  config: JSON.stringify({ oidc_discovery_url: `${ISSUER}/`, bound_issuer: `${ISSUER}/` }),
  condition: `assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes && int(assertion.swversion) >= 1`,
  digestCondition: `assertion.swname == 'CONFIDENTIAL_SPACE' && assertion.submods.container.image_digest == '${DIGEST} '`,
};

describe("the tutorial's traps", () => {
  it("claims_mappings: the renderer writes claim_mappings; explain names the misspelt field", () => {
    const { role } = renderVault(POLICY, { tokenPolicies: ["wordcount"], allowUnenforced: ["minSwVersion"] });
    expect(role).toHaveProperty("claim_mappings");
    expect(role).not.toHaveProperty("claims_mappings");
    const result = explainPolicy(CLAIMS, TUTORIAL.role);
    expect(result.format).toBe("vault-role");
    expect(result.warnings).toContainEqual(
      expect.stringMatching(/^claims_mappings is not a JWT role field.*did you mean claim_mappings\?/),
    );
  });

  it("a trailing space inside a digest: the policy refuses it before any renderer sees it; explain points at the bound value and the claim", () => {
    expect(() => renderVault({ ...POLICY, imageDigests: [`${DIGEST} `] }, { tokenPolicies: ["p"] })).toThrow(
      InvalidOptionError,
    );
    expect(() =>
      renderGcp(
        { ...POLICY, imageDigests: [`${DIGEST} `] },
        { poolProjectNumber: "1", poolId: "pool", providerId: "prov" },
      ),
    ).toThrow(expect.objectContaining({ option: "policy.imageDigests[0]" }));
    const vault = explainPolicy(CLAIMS, TUTORIAL.role);
    expect(vault.admitted).toBe(false);
    expect(vault.failed).toMatchObject({
      clause: expect.stringContaining("bound_claims./submods/container/image_digest"),
      claim: "submods.container.image_digest",
      value: DIGEST,
    });
    expect(vault.failed?.message).toContain("surrounding whitespace");
    const gcp = explainPolicy(CLAIMS, TUTORIAL.digestCondition);
    expect(gcp.failed).toMatchObject({ claim: "submods.container.image_digest", value: DIGEST });
    expect(gcp.failed?.message).toContain("surrounding whitespace");
  });

  it("a trailing slash in bound_issuer: the renderer strips it; explain names it", () => {
    const { authConfig } = renderVault(POLICY, {
      issuer: `${ISSUER}/`,
      tokenPolicies: ["p"],
      allowUnenforced: ["minSwVersion"],
    });
    expect(authConfig).toEqual({ oidc_discovery_url: ISSUER, bound_issuer: ISSUER });
    const result = explainPolicy(CLAIMS, TUTORIAL.config);
    expect(result.format).toBe("vault-config");
    expect(result.failed).toMatchObject({ claim: "iss", value: ISSUER });
    expect(result.failed?.message).toContain("trailing slash");
  });

  it("int(assertion.swversion): the renderer indexes the list; explain says why the clause errors", () => {
    const { attributeCondition } = renderGcp(POLICY, { poolProjectNumber: "1", poolId: "pool", providerId: "prov" });
    expect(attributeCondition).not.toMatch(/int\(assertion\.swversion\)/);
    expect(attributeCondition).toContain("int(assertion.swversion[0]) >= 250000");
    const result = explainPolicy(CLAIMS, TUTORIAL.condition);
    expect(result.format).toBe("gcp");
    expect(result.admitted).toBe(false);
    expect(result.failed).toMatchObject({
      clause: "int(assertion.swversion) >= 1",
      claim: "swversion",
      value: ["250301"],
    });
    expect(result.failed?.message).toMatch(/CEL error.*swversion is a list.*use int\(assertion\.swversion\[0\]\)/);
  });

  it("the rendered configurations contain none of the traps", () => {
    const vault = renderVault(POLICY, { tokenPolicies: ["p"], allowUnenforced: ["minSwVersion"] });
    const text = JSON.stringify([
      vault,
      renderGcp(POLICY, { poolProjectNumber: "1", poolId: "pool", providerId: "prov" }),
      renderAws(POLICY, { accountId: "123456789012" }),
    ]);
    expect(text).not.toContain("claims_mappings");
    expect(text).not.toMatch(/googleapis\.com\/"/);
    expect(text).not.toContain("int(assertion.swversion)");
    expect(text).not.toMatch(/sha256:[0-9a-f]{64}\s/);
  });

  it("never shows the nonce or the container's env", () => {
    const result = explainPolicy(
      CLAIMS,
      `assertion.eat_nonce == 'x' && assertion.submods.container.env.API_KEY == 'y'`,
    );
    const text = JSON.stringify(result);
    expect(result.admitted).toBe(false);
    expect(text).not.toContain("binding-nonce-do-not-show");
    expect(text).not.toContain("env-secret-do-not-show");
  });
});
