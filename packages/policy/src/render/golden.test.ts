// Each renderer's whole output for a few policies, read against the target's documented
// syntax when written: the rendered conditions and roles are what admits a workload, so a
// change to any of their characters must be a decision, not an accident.
import { describe, expect, it } from "vitest";
import { AUDIENCE, D1, FULL, K1 } from "../../test/full-policy.js";
import type { WorkloadPolicy } from "../workload-policy.js";
import { renderAws } from "./aws.js";
import { renderBroker } from "./broker.js";
import { renderGcp } from "./gcp.js";
import { renderVault } from "./vault.js";

/** The defaults around one digest. */
const MINIMAL: WorkloadPolicy = { imageDigests: [D1] };
/** A debug image, pinned by project and service account, one signature key. */
const DEBUG: WorkloadPolicy = {
  allowDebug: true,
  supportAttributes: [],
  projectIds: ["dev-project"],
  serviceAccounts: ["dev@dev-project.iam.gserviceaccount.com"],
  imageSignatures: { keyIds: [K1], threshold: 1 },
};

const GCP = { poolProjectNumber: "111122223333", poolId: "confspace-pool", providerId: "confspace-cs" };

describe("renderGcp, whole output", () => {
  it("every clause, with a binding", () => {
    expect(
      renderGcp(FULL, {
        ...GCP,
        binding: {
          resource: "kms keys key1 --keyring=kr1 --location=global",
          role: "roles/cloudkms.cryptoKeyDecrypter",
        },
      }),
    ).toMatchInlineSnapshot(`
      {
        "allowedAudiences": [
          "https://relying-party.example.com",
        ],
        "attributeCondition": "assertion.swname == "CONFIDENTIAL_SPACE" && assertion.secboot == true && assertion.hwmodel in ["GCP_INTEL_TDX", "GCP_AMD_SEV"] && assertion.dbgstat == "disabled-since-boot" && size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$") && int(assertion.swversion[0]) >= 250301 && "STABLE" in assertion.submods.confidential_space.support_attributes && "USABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.container.image_digest in ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"] && (assertion.submods.container.image_signatures.exists(s, s.key_id == "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3") ? 1 : 0) + (assertion.submods.container.image_signatures.exists(s, s.key_id == "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4") ? 1 : 0) + (assertion.submods.container.image_signatures.exists(s, s.key_id == "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5") ? 1 : 0) >= 2 && assertion.submods.gce.project_id in ["prod-project"] && assertion.submods.gce.project_number in ["123456789012"] && assertion.google_service_accounts.exists(x, x in ["workload@prod-project.iam.gserviceaccount.com"]) && assertion.submods.container.restart_policy in ["Never"]",
        "attributeMapping": {
          "attribute.image_digest": "assertion.submods.container.image_digest",
          "attribute.image_reference": "assertion.submods.container.image_reference",
          "attribute.project_id": "assertion.submods.gce.project_id",
          "google.subject": "assertion.sub",
        },
        "attributeMappingText": "google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest,attribute.image_reference=assertion.submods.container.image_reference,attribute.project_id=assertion.submods.gce.project_id",
        "clauses": [
          "assertion.swname == "CONFIDENTIAL_SPACE"",
          "assertion.secboot == true",
          "assertion.hwmodel in ["GCP_INTEL_TDX", "GCP_AMD_SEV"]",
          "assertion.dbgstat == "disabled-since-boot"",
          "size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$")",
          "int(assertion.swversion[0]) >= 250301",
          ""STABLE" in assertion.submods.confidential_space.support_attributes",
          ""USABLE" in assertion.submods.confidential_space.support_attributes",
          "assertion.submods.container.image_digest in ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"]",
          "(assertion.submods.container.image_signatures.exists(s, s.key_id == "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3") ? 1 : 0) + (assertion.submods.container.image_signatures.exists(s, s.key_id == "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4") ? 1 : 0) + (assertion.submods.container.image_signatures.exists(s, s.key_id == "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5") ? 1 : 0) >= 2",
          "assertion.submods.gce.project_id in ["prod-project"]",
          "assertion.submods.gce.project_number in ["123456789012"]",
          "assertion.google_service_accounts.exists(x, x in ["workload@prod-project.iam.gserviceaccount.com"])",
          "assertion.submods.container.restart_policy in ["Never"]",
        ],
        "commands": [
          "gcloud iam workload-identity-pools providers create-oidc confspace-cs \\
        --location=global \\
        --workload-identity-pool=confspace-pool \\
        --issuer-uri=https://confidentialcomputing.googleapis.com \\
        --allowed-audiences=https://relying-party.example.com \\
        --attribute-mapping=google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest,attribute.image_reference=assertion.submods.container.image_reference,attribute.project_id=assertion.submods.gce.project_id \\
        --attribute-condition='assertion.swname == "CONFIDENTIAL_SPACE" && assertion.secboot == true && assertion.hwmodel in ["GCP_INTEL_TDX", "GCP_AMD_SEV"] && assertion.dbgstat == "disabled-since-boot" && size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$") && int(assertion.swversion[0]) >= 250301 && "STABLE" in assertion.submods.confidential_space.support_attributes && "USABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.container.image_digest in ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"] && (assertion.submods.container.image_signatures.exists(s, s.key_id == "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3") ? 1 : 0) + (assertion.submods.container.image_signatures.exists(s, s.key_id == "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4") ? 1 : 0) + (assertion.submods.container.image_signatures.exists(s, s.key_id == "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5") ? 1 : 0) >= 2 && assertion.submods.gce.project_id in ["prod-project"] && assertion.submods.gce.project_number in ["123456789012"] && assertion.google_service_accounts.exists(x, x in ["workload@prod-project.iam.gserviceaccount.com"]) && assertion.submods.container.restart_policy in ["Never"]'",
          "gcloud kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global \\
        --member=principalSet://iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/attribute.image_digest/sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 \\
        --role=roles/cloudkms.cryptoKeyDecrypter",
          "gcloud kms keys add-iam-policy-binding key1 --keyring=kr1 --location=global \\
        --member=principalSet://iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/attribute.image_digest/sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2 \\
        --role=roles/cloudkms.cryptoKeyDecrypter",
        ],
        "members": [
          "principalSet://iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/attribute.image_digest/sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
          "principalSet://iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/attribute.image_digest/sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
        ],
        "providerResourceName": "//iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/providers/confspace-cs",
        "unenforced": [],
      }
    `);
  });

  it("the defaults around one digest, another issuer", () => {
    expect(renderGcp(MINIMAL, { ...GCP, issuer: "http://127.0.0.1:8080" })).toMatchInlineSnapshot(`
      {
        "allowedAudiences": [],
        "attributeCondition": "assertion.swname == "CONFIDENTIAL_SPACE" && assertion.secboot == true && assertion.hwmodel in ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"] && assertion.dbgstat == "disabled-since-boot" && size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$") && "STABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.container.image_digest in ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"]",
        "attributeMapping": {
          "attribute.image_digest": "assertion.submods.container.image_digest",
          "attribute.image_reference": "assertion.submods.container.image_reference",
          "attribute.project_id": "assertion.submods.gce.project_id",
          "google.subject": "assertion.sub",
        },
        "attributeMappingText": "google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest,attribute.image_reference=assertion.submods.container.image_reference,attribute.project_id=assertion.submods.gce.project_id",
        "clauses": [
          "assertion.swname == "CONFIDENTIAL_SPACE"",
          "assertion.secboot == true",
          "assertion.hwmodel in ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"]",
          "assertion.dbgstat == "disabled-since-boot"",
          "size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$")",
          ""STABLE" in assertion.submods.confidential_space.support_attributes",
          "assertion.submods.container.image_digest in ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"]",
        ],
        "commands": [
          "gcloud iam workload-identity-pools providers create-oidc confspace-cs \\
        --location=global \\
        --workload-identity-pool=confspace-pool \\
        --issuer-uri=http://127.0.0.1:8080 \\
        --attribute-mapping=google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest,attribute.image_reference=assertion.submods.container.image_reference,attribute.project_id=assertion.submods.gce.project_id \\
        --attribute-condition='assertion.swname == "CONFIDENTIAL_SPACE" && assertion.secboot == true && assertion.hwmodel in ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"] && assertion.dbgstat == "disabled-since-boot" && size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$") && "STABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.container.image_digest in ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"]'",
        ],
        "members": [
          "principalSet://iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/attribute.image_digest/sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
        ],
        "providerResourceName": "//iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/providers/confspace-cs",
        "unenforced": [],
      }
    `);
  });

  it("a debug image with one signature key", () => {
    expect(renderGcp(DEBUG, GCP).clauses).toMatchInlineSnapshot(`
      [
        "assertion.swname == "CONFIDENTIAL_SPACE"",
        "assertion.secboot == true",
        "assertion.hwmodel in ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"]",
        "size(assertion.swversion) == 1 && assertion.swversion[0].matches("^[0-9]{1,15}$")",
        "assertion.submods.container.image_signatures.exists(s, s.key_id in ["c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3"])",
        "assertion.submods.gce.project_id in ["dev-project"]",
        "assertion.google_service_accounts.exists(x, x in ["dev@dev-project.iam.gserviceaccount.com"])",
      ]
    `);
  });
});

describe("renderVault, whole output", () => {
  it("every clause it can express, the rest allowed", () => {
    expect(
      renderVault(FULL, {
        tokenPolicies: ["confspace-reader"],
        tokenTtlSeconds: 600,
        tokenMaxTtlSeconds: 3600,
        allowUnenforced: ["imageSignatures", "minSwVersion", "supportAttributes", "hardwareModels", "serviceAccounts"],
      }),
    ).toMatchInlineSnapshot(`
      {
        "authConfig": {
          "bound_issuer": "https://confidentialcomputing.googleapis.com",
          "oidc_discovery_url": "https://confidentialcomputing.googleapis.com",
        },
        "role": {
          "bound_audiences": [
            "https://relying-party.example.com",
          ],
          "bound_claims": {
            "/dbgstat": "disabled-since-boot",
            "/google_service_accounts": [
              "workload@prod-project.iam.gserviceaccount.com",
            ],
            "/hwmodel": [
              "GCP_INTEL_TDX",
              "GCP_AMD_SEV",
            ],
            "/submods/confidential_space/support_attributes": [
              "STABLE",
            ],
            "/submods/container/image_digest": [
              "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
              "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
            ],
            "/submods/container/restart_policy": [
              "Never",
            ],
            "/submods/gce/project_id": [
              "prod-project",
            ],
            "/submods/gce/project_number": [
              "123456789012",
            ],
            "/swname": "CONFIDENTIAL_SPACE",
          },
          "bound_claims_type": "string",
          "claim_mappings": {
            "/submods/container/image_digest": "image_digest",
            "/submods/gce/instance_name": "instance_name",
            "/submods/gce/project_id": "project_id",
          },
          "role_type": "jwt",
          "token_max_ttl": 3600,
          "token_policies": [
            "confspace-reader",
          ],
          "token_ttl": 600,
          "user_claim": "sub",
        },
        "unenforced": [
          {
            "clause": "secboot",
            "reason": "bound_claims compares strings; secboot is a boolean",
          },
          {
            "clause": "swversionFormat",
            "reason": "bound_claims cannot check that swversion is one decimal string",
          },
          {
            "clause": "minSwVersion",
            "reason": "bound_claims has no numeric comparison",
          },
          {
            "clause": "supportAttributes",
            "reason": "bound_claims accepts any one of a list, not all of several values",
          },
          {
            "clause": "imageSignatures",
            "reason": "a JSON pointer cannot reach the key_id of every image_signatures element",
          },
        ],
      }
    `);
  });

  it("the defaults around one digest, keys from a JWKS URL", () => {
    expect(
      renderVault(
        { ...MINIMAL, audience: AUDIENCE },
        { tokenPolicies: ["p"], jwksUrl: "https://keys.example/jwks", issuer: "https://issuer.example" },
      ),
    ).toMatchInlineSnapshot(`
      {
        "authConfig": {
          "bound_issuer": "https://issuer.example",
          "jwks_url": "https://keys.example/jwks",
        },
        "role": {
          "bound_audiences": [
            "https://relying-party.example.com",
          ],
          "bound_claims": {
            "/dbgstat": "disabled-since-boot",
            "/hwmodel": [
              "GCP_AMD_SEV",
              "GCP_AMD_SEV_ES",
              "GCP_INTEL_TDX",
            ],
            "/submods/confidential_space/support_attributes": [
              "STABLE",
            ],
            "/submods/container/image_digest": [
              "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
            ],
            "/swname": "CONFIDENTIAL_SPACE",
          },
          "bound_claims_type": "string",
          "claim_mappings": {
            "/submods/container/image_digest": "image_digest",
            "/submods/gce/instance_name": "instance_name",
            "/submods/gce/project_id": "project_id",
          },
          "role_type": "jwt",
          "token_max_ttl": 3600,
          "token_policies": [
            "p",
          ],
          "token_ttl": 900,
          "user_claim": "sub",
        },
        "unenforced": [
          {
            "clause": "secboot",
            "reason": "bound_claims compares strings; secboot is a boolean",
          },
          {
            "clause": "swversionFormat",
            "reason": "bound_claims cannot check that swversion is one decimal string",
          },
        ],
      }
    `);
  });
});

describe("renderAws, whole output", () => {
  it("every clause it can express, the rest allowed", () => {
    expect(
      renderAws(FULL, {
        accountId: "444455556666",
        allowUnenforced: ["imageDigests", "projectNumbers", "restartPolicies", "serviceAccounts"],
      }),
    ).toMatchInlineSnapshot(`
      {
        "size": 4431,
        "tokenOptions": {
          "allowed_principal_tags": {
            "container_image_signatures": {
              "key_ids": [
                "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
                "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
                "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
              ],
            },
          },
        },
        "trustPolicy": {
          "Statement": [
            {
              "Action": [
                "sts:AssumeRoleWithWebIdentity",
                "sts:TagSession",
              ],
              "Condition": {
                "StringEquals": {
                  "aws:RequestTag/gce.project_id": [
                    "prod-project",
                  ],
                  "aws:RequestTag/hwmodel": [
                    "GCP_INTEL_TDX",
                    "GCP_AMD_SEV",
                  ],
                  "aws:RequestTag/swname": "CONFIDENTIAL_SPACE",
                  "confidentialcomputing.googleapis.com:aud": "https://relying-party.example.com",
                },
                "StringLike": {
                  "aws:RequestTag/confidential_space.support_attributes": [
                    "STABLE=USABLE",
                    "*=STABLE=USABLE",
                    "STABLE=*=USABLE",
                    "*=STABLE=*=USABLE",
                    "STABLE=USABLE=*",
                    "*=STABLE=USABLE=*",
                    "STABLE=*=USABLE=*",
                    "*=STABLE=*=USABLE=*",
                  ],
                  "aws:RequestTag/container.signatures.key_ids": [
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "*=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
                    "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                    "*=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4=*=e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5=*",
                  ],
                  "aws:RequestTag/swversion": [
                    "250301",
                    "3?????",
                    "4?????",
                    "5?????",
                    "6?????",
                    "7?????",
                    "8?????",
                    "9?????",
                    "26????",
                    "27????",
                    "28????",
                    "29????",
                    "251???",
                    "252???",
                    "253???",
                    "254???",
                    "255???",
                    "256???",
                    "257???",
                    "258???",
                    "259???",
                    "2504??",
                    "2505??",
                    "2506??",
                    "2507??",
                    "2508??",
                    "2509??",
                    "25031?",
                    "25032?",
                    "25033?",
                    "25034?",
                    "25035?",
                    "25036?",
                    "25037?",
                    "25038?",
                    "25039?",
                    "250302",
                    "250303",
                    "250304",
                    "250305",
                    "250306",
                    "250307",
                    "250308",
                    "250309",
                    "???????*",
                  ],
                },
              },
              "Effect": "Allow",
              "Principal": {
                "Federated": "arn:aws:iam::444455556666:oidc-provider/confidentialcomputing.googleapis.com",
              },
            },
          ],
          "Version": "2012-10-17",
        },
        "unenforced": [
          {
            "clause": "secboot",
            "reason": "Google's principal tags carry no secboot",
          },
          {
            "clause": "dbgstat",
            "reason": "Google's principal tags carry no dbgstat; the required support attribute excludes debug images, which carry none",
          },
          {
            "clause": "swversionFormat",
            "reason": "StringLike's ? matches any character, so swversion is taken to be decimal, as Google writes it",
          },
          {
            "clause": "imageDigests",
            "reason": "a token carries container.signatures.key_ids or container.image_digest, never both",
          },
          {
            "clause": "projectNumbers",
            "reason": "Google's principal tags carry the project id, not its number",
          },
          {
            "clause": "serviceAccounts",
            "reason": "Google's principal tags carry no service account",
          },
          {
            "clause": "restartPolicies",
            "reason": "Google's principal tags carry no restart policy",
          },
        ],
      }
    `);
  });

  it("the defaults around one digest", () => {
    expect(
      renderAws({ ...MINIMAL, audience: AUDIENCE }, { accountId: "444455556666", issuer: "https://issuer.example" }),
    ).toMatchInlineSnapshot(`
      {
        "size": 673,
        "tokenOptions": undefined,
        "trustPolicy": {
          "Statement": [
            {
              "Action": [
                "sts:AssumeRoleWithWebIdentity",
                "sts:TagSession",
              ],
              "Condition": {
                "StringEquals": {
                  "aws:RequestTag/container.image_digest": [
                    "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
                  ],
                  "aws:RequestTag/hwmodel": [
                    "GCP_AMD_SEV",
                    "GCP_AMD_SEV_ES",
                    "GCP_INTEL_TDX",
                  ],
                  "aws:RequestTag/swname": "CONFIDENTIAL_SPACE",
                  "issuer.example:aud": "https://relying-party.example.com",
                },
                "StringLike": {
                  "aws:RequestTag/confidential_space.support_attributes": [
                    "STABLE",
                    "*=STABLE",
                    "STABLE=*",
                    "*=STABLE=*",
                  ],
                  "aws:RequestTag/swversion": [
                    "?*",
                  ],
                },
              },
              "Effect": "Allow",
              "Principal": {
                "Federated": "arn:aws:iam::444455556666:oidc-provider/issuer.example",
              },
            },
          ],
          "Version": "2012-10-17",
        },
        "unenforced": [
          {
            "clause": "secboot",
            "reason": "Google's principal tags carry no secboot",
          },
          {
            "clause": "dbgstat",
            "reason": "Google's principal tags carry no dbgstat; the required support attribute excludes debug images, which carry none",
          },
          {
            "clause": "swversionFormat",
            "reason": "StringLike's ? matches any character, so swversion is taken to be decimal, as Google writes it",
          },
        ],
      }
    `);
  });
});

describe("renderBroker, whole output", () => {
  it("every clause", () => {
    expect(
      renderBroker(FULL, {
        grantName: "prod-reader",
        gives: { azure: [{ scope: "https://vault.azure.net/.default" }] },
      }),
    ).toMatchInlineSnapshot(`
      {
        "grantYaml": "grants:
        - name: "prod-reader"
          match:
            imageDigests: ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1","sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"]
            imageSignatures:
              keyIds: ["c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3","d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4","e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"]
              threshold: 2
            projectIds: ["prod-project"]
            projectNumbers: ["123456789012"]
            serviceAccounts: ["workload@prod-project.iam.gserviceaccount.com"]
            hardwareModels: ["GCP_INTEL_TDX","GCP_AMD_SEV"]
            supportAttributes: ["STABLE","USABLE"]
            minSwVersion: 250301
            restartPolicies: ["Never"]
          azure:
            - scope: "https://vault.azure.net/.default"",
        "match": {
          "hardwareModels": [
            "GCP_INTEL_TDX",
            "GCP_AMD_SEV",
          ],
          "imageDigests": [
            "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
            "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
          ],
          "imageSignatures": {
            "keyIds": [
              "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
              "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
              "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5",
            ],
            "threshold": 2,
          },
          "minSwVersion": 250301,
          "projectIds": [
            "prod-project",
          ],
          "projectNumbers": [
            "123456789012",
          ],
          "restartPolicies": [
            "Never",
          ],
          "serviceAccounts": [
            "workload@prod-project.iam.gserviceaccount.com",
          ],
          "supportAttributes": [
            "STABLE",
            "USABLE",
          ],
        },
        "unenforced": [],
      }
    `);
  });

  it("the defaults around one digest", () => {
    expect(renderBroker(MINIMAL, { grantName: "minimal" })).toMatchInlineSnapshot(`
      {
        "grantYaml": "grants:
        - name: "minimal"
          match:
            imageDigests: ["sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"]
            hardwareModels: ["GCP_AMD_SEV","GCP_AMD_SEV_ES","GCP_INTEL_TDX"]
            supportAttributes: ["STABLE"]",
        "match": {
          "hardwareModels": [
            "GCP_AMD_SEV",
            "GCP_AMD_SEV_ES",
            "GCP_INTEL_TDX",
          ],
          "imageDigests": [
            "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
          ],
          "supportAttributes": [
            "STABLE",
          ],
        },
        "unenforced": [],
      }
    `);
  });
});
