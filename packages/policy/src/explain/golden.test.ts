// explainPolicy's whole answer for the renderings of one policy that sets every clause,
// against a token that passes it and one that fails most of it: the messages are what an
// operator reads when a workload is refused, so each is pinned.
import { describe, expect, it } from "vitest";
import { AUDIENCE, D1, FULL, K1, K3, SA } from "../../test/full-policy.js";
import { renderAws, renderBroker, renderGcp, renderVault } from "../render/index.js";
import { explainPolicy } from "./explain-policy.js";

const ISSUER = "https://confidentialcomputing.googleapis.com";

const signature = (key_id: string) => ({ key_id, signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" });
/** A token's claims that FULL admits, AWS principal tags included. */
const GOOD = {
  iss: ISSUER,
  aud: AUDIENCE,
  sub: "https://www.googleapis.com/compute/v1/projects/prod-project/zones/us-central1-a/instances/app",
  eat_nonce: "nonce-not-shown",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  hwmodel: "GCP_INTEL_TDX",
  secboot: true,
  dbgstat: "disabled-since-boot",
  google_service_accounts: [SA],
  submods: {
    confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
    container: {
      image_digest: D1,
      image_reference: `us-docker.pkg.dev/p/r/app@${D1}`,
      restart_policy: "Never",
      image_signatures: [signature(K1), signature(K3)],
      env: { API_KEY: "env-not-shown" },
    },
    gce: { project_id: "prod-project", project_number: "123456789012", zone: "us-central1-a", instance_name: "app" },
  },
  "https://aws.amazon.com/tags": {
    principal_tags: {
      swname: ["CONFIDENTIAL_SPACE"],
      hwmodel: ["GCP_INTEL_TDX"],
      swversion: ["250301"],
      "confidential_space.support_attributes": ["LATEST=STABLE=USABLE"],
      "container.signatures.key_ids": [`${K1}=${K3}`],
      "gce.project_id": ["prod-project"],
    },
  },
};
/** The same token from another issuer URL, for another audience, from a debug build of another image in another project, on SEV-ES, with one signature. */
const BAD = {
  ...GOOD,
  iss: `${ISSUER}/`,
  aud: "https://other.example",
  swversion: ["250300"],
  hwmodel: "GCP_AMD_SEV_ES",
  dbgstat: "enabled",
  google_service_accounts: ["other@other-project.iam.gserviceaccount.com"],
  submods: {
    confidential_space: { support_attributes: [] },
    container: {
      ...GOOD.submods.container,
      image_digest: `sha256:${"ff".repeat(32)}`,
      restart_policy: "Always",
      image_signatures: [signature(K1)],
    },
    gce: { ...GOOD.submods.gce, project_id: "other-project", project_number: "999" },
  },
  "https://aws.amazon.com/tags": {
    principal_tags: {
      swname: ["CONFIDENTIAL_SPACE"],
      hwmodel: ["GCP_AMD_SEV_ES"],
      swversion: ["250300"],
      "container.signatures.key_ids": [K1],
      "gce.project_id": ["other-project"],
    },
  },
};

const GCP = { poolProjectNumber: "111122223333", poolId: "confspace-pool", providerId: "confspace-cs" };
const vault = renderVault(FULL, {
  tokenPolicies: ["p"],
  allowUnenforced: ["imageSignatures", "minSwVersion", "supportAttributes"],
});
const configs: [name: string, against: () => string | Record<string, unknown>][] = [
  ["a WorkloadPolicy", () => ({ ...FULL })],
  ["a GCP attribute condition", () => renderGcp(FULL, GCP).attributeCondition],
  ["a Vault role", () => JSON.stringify(vault.role)],
  ["a Vault auth config", () => JSON.stringify(vault.authConfig)],
  [
    "an AWS trust policy",
    () =>
      JSON.stringify(
        renderAws(FULL, {
          accountId: "444455556666",
          allowUnenforced: ["imageDigests", "projectNumbers", "restartPolicies", "serviceAccounts"],
        }).trustPolicy,
      ),
  ],
  ["a broker.yaml", () => renderBroker(FULL, { grantName: "prod" }).grantYaml],
];

describe("explainPolicy, whole answers", () => {
  it.each(configs)("admits the good token by %s", (_name, against) => {
    const explanation = explainPolicy(GOOD, against());
    expect(explanation.admitted).toBe(true);
    expect(explanation).toMatchSnapshot();
  });

  it.each(configs)("refuses the bad token by %s, clause by clause", (_name, against) => {
    const explanation = explainPolicy(BAD, against());
    expect(explanation.admitted).toBe(false);
    expect(explanation).toMatchSnapshot();
    expect(JSON.stringify(explanation)).not.toMatch(/nonce-not-shown|env-not-shown/);
  });
});
