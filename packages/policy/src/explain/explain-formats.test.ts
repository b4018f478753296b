// How explainPolicy reads what it is given: tokens, texts, CLI outputs, and which format
// a document is; each refusal with its option and message.
import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { explainPolicy } from "./explain-policy.js";

const DIGEST = `sha256:${"e4".repeat(32)}`;
const CLAIMS = {
  iss: "https://confidentialcomputing.googleapis.com",
  aud: "https://sts.example",
  sub: "s",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  hwmodel: "GCP_AMD_SEV",
  secboot: true,
  dbgstat: "disabled-since-boot",
  submods: { confidential_space: { support_attributes: ["STABLE"] }, container: { image_digest: DIGEST } },
};
const jwt = (payload: unknown) =>
  `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

function refusal(run: () => unknown): { option: string; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    const { option, message } = error as InvalidOptionError;
    return { option, message };
  }
  return expect.unreachable("explainPolicy should have refused");
}

describe("explainPolicy's inputs", () => {
  it("reads a compact JWT's payload, unverified, with surrounding whitespace", () => {
    expect(explainPolicy(` ${jwt(CLAIMS)}\n`, { imageDigests: [DIGEST] }).admitted).toBe(true);
  });

  it.each([
    ["two parts", "a.b", "explainPolicy: token is not a compact JWT (three dot-separated parts)"],
    ["four parts", "a.b.c.d", "explainPolicy: token is not a compact JWT (three dot-separated parts)"],
    ["a payload that is not JSON", "a.bm90IGpzb24.c", "explainPolicy: the token's payload is not a JSON object"],
    ["an array payload", jwt([1]), "explainPolicy: the token's payload is not a JSON object"],
    ["a null payload", jwt(null), "explainPolicy: the token's payload is not a JSON object"],
    ["a string payload", jwt("x"), "explainPolicy: the token's payload is not a JSON object"],
  ])("refuses a token with %s", (_name, token, message) => {
    expect(refusal(() => explainPolicy(token, "true"))).toEqual({ option: "token", message });
  });

  it.each([
    ["a number", 7],
    ["an array", [1]],
    ["null", null],
    ["a JSON array", "[1, 2]"],
  ])("refuses a configuration that is %s", (_name, against) => {
    expect(refusal(() => explainPolicy(CLAIMS, against as never))).toEqual({
      option: "against",
      message: "explainPolicy: against must be a configuration object, JSON, YAML or a CEL condition",
    });
  });

  it("reads CEL text as a GCP condition, and refuses it for another forced format", () => {
    expect(explainPolicy(CLAIMS, "  assertion.secboot == true  ")).toMatchObject({
      format: "gcp",
      admitted: true,
      clauses: [{ clause: "assertion.secboot == true" }],
    });
    expect(explainPolicy(CLAIMS, "assertion.secboot", { format: "gcp" }).format).toBe("gcp");
    expect(refusal(() => explainPolicy(CLAIMS, "assertion.secboot", { format: "vault-role" }))).toEqual({
      option: "against",
      message: "explainPolicy: a vault-role configuration must be JSON or YAML",
    });
  });

  it.each([
    ["Statement", { Statement: [] }, "aws"],
    ["attributeCondition", { attributeCondition: "true" }, "gcp"],
    ["attribute_condition", { attribute_condition: "true" }, "gcp"],
    ["grants", { grants: [] }, "broker"],
    ["role_type", { role_type: "jwt" }, "vault-role"],
    ["bound_claims", { bound_claims: {} }, "vault-role"],
    ["bound_audiences", { bound_audiences: ["a"] }, "vault-role"],
    ["user_claim", { user_claim: "sub" }, "vault-role"],
    ["claim_mappings", { claim_mappings: {} }, "vault-role"],
    ["claims_mappings (a misspelling)", { claims_mappings: {} }, "vault-role"],
    ["bound_issuer", { bound_issuer: "x" }, "vault-config"],
    ["oidc_discovery_url", { oidc_discovery_url: "x" }, "vault-config"],
    ["jwks_url", { jwks_url: "x" }, "vault-config"],
    ["jwt_validation_pubkeys", { jwt_validation_pubkeys: [] }, "vault-config"],
    ["none of those", { imageDigests: [DIGEST] }, "policy"],
  ])("takes a document with %s as %s", (_name, document, format) => {
    expect(explainPolicy(CLAIMS, document).format).toBe(format);
  });

  it("reads text YAML takes as null or a scalar as CEL", () => {
    expect(explainPolicy(CLAIMS, "~")).toMatchObject({ format: "gcp", admitted: false });
    expect(explainPolicy(CLAIMS, "assertion.secboot")).toMatchObject({ format: "gcp", admitted: true });
  });

  it("does not unwrap a CLI output whose inner document is not an object", () => {
    for (const data of [null, [1], "x"]) {
      expect(refusal(() => explainPolicy(CLAIMS, { request_id: "r", data })).option).toBe("policy.request_id");
    }
    for (const Role of [null, { AssumeRolePolicyDocument: null }, { AssumeRolePolicyDocument: 7 }]) {
      expect(refusal(() => explainPolicy(CLAIMS, { Role })).option).toBe("policy.Role");
    }
  });

  it("falls back to Google's default audiences when the provider lists none", () => {
    const name = "projects/1/locations/global/workloadIdentityPools/pool/providers/prov";
    const provider = (extra: object) => ({ attributeCondition: "true", name, ...extra });
    const defaults = [`//iam.googleapis.com/${name}`, `https://iam.googleapis.com/${name}`];
    // The clause shows at most 120 characters of the list.
    expect(explainPolicy(CLAIMS, provider({ oidc: { allowedAudiences: [] } })).clauses[0]?.clause).toBe(
      `allowedAudiences ${JSON.stringify(defaults).slice(0, 120)}…`,
    );
    for (const bad of [`x/${name}`, `${name}/x`]) {
      expect(explainPolicy(CLAIMS, { attributeCondition: "true", name: bad }).clauses).toHaveLength(1);
    }
  });

  it("reads YAML text, and a forced format over the detected one", () => {
    expect(explainPolicy(CLAIMS, "bound_issuer: https://confidentialcomputing.googleapis.com\n")).toMatchObject({
      format: "vault-config",
      admitted: true,
    });
    expect(explainPolicy(CLAIMS, { bound_issuer: "x" }, { format: "vault-role" }).format).toBe("vault-role");
  });

  it("unwraps vault read output only when it has a request_id", () => {
    const role = { role_type: "jwt", bound_audiences: [CLAIMS.aud] };
    expect(explainPolicy(CLAIMS, { request_id: "r", data: role })).toMatchObject({
      format: "vault-role",
      admitted: true,
    });
    // Without request_id, `data` is not unwrapped: the document is read as a (bad) policy.
    expect(refusal(() => explainPolicy(CLAIMS, { data: role })).option).toBe("policy.data");
  });

  it("unwraps aws iam get-role output, encoded or not, and refuses a document that is not JSON", () => {
    const trust = { Statement: [{ Effect: "Allow", Condition: { StringEquals: { "x:aud": CLAIMS.aud } } }] };
    expect(explainPolicy(CLAIMS, { Role: { AssumeRolePolicyDocument: trust } })).toMatchObject({
      format: "aws",
      admitted: true,
    });
    const encoded = { Role: { AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)) } };
    expect(explainPolicy(CLAIMS, encoded)).toMatchObject({ format: "aws", admitted: true });
    expect(refusal(() => explainPolicy(CLAIMS, { Role: { AssumeRolePolicyDocument: "%7Bnot" } }))).toEqual({
      option: "against.Role.AssumeRolePolicyDocument",
      message: "explainPolicy: AssumeRolePolicyDocument is not a (URL-encoded) JSON policy",
    });
  });

  it("reads gcloud's provider JSON: snake_case condition, mapping, and refuses a condition that is not text", () => {
    const provider = {
      attribute_condition: "attribute.d == 'x'",
      attributeMapping: { "attribute.d": "'x'" },
      oidc: { allowedAudiences: [CLAIMS.aud], issuerUri: CLAIMS.iss },
    };
    expect(explainPolicy(CLAIMS, provider).clauses.map((c) => [c.clause, c.ok])).toEqual([
      ['allowedAudiences ["https://sts.example"]', true],
      ['issuerUri "https://confidentialcomputing.googleapis.com"', true],
      ["attribute.d == 'x'", true],
    ]);
    expect(refusal(() => explainPolicy(CLAIMS, { attributeCondition: 7 }))).toEqual({
      option: "against.attributeCondition",
      message: "explainPolicy: attributeCondition must be CEL text",
    });
    expect(explainPolicy(CLAIMS, { attributeCondition: "true", name: "not/a/provider" }).clauses).toHaveLength(1);
    expect(explainPolicy(CLAIMS, { attributeCondition: "true", attributeMapping: null }).admitted).toBe(true);
  });
});

describe("explainPolicy on a broker.yaml", () => {
  const grant = (name: string, match: object) => ({ name, match });
  it("admits when the broker's own policy holds and any grant matches, naming each clause by grant", () => {
    const doc = {
      attestation: { policy: { imageDigests: [DIGEST] } },
      grants: [
        grant("other", { imageDigests: [`sha256:${"00".repeat(32)}`] }),
        grant("mine", { imageDigests: [DIGEST] }),
      ],
    };
    const result = explainPolicy(CLAIMS, doc);
    expect(result.admitted).toBe(true);
    expect(result.clauses.map((c) => c.clause)).toContain("grants[1] (mine) image_digest");
    expect(result.clauses.map((c) => c.clause)).toContain("attestation.policy image_digest");
  });

  it("refuses when no grant matches, or when the broker's own policy fails", () => {
    const none = { grants: [grant("other", { imageDigests: [`sha256:${"00".repeat(32)}`] })] };
    expect(explainPolicy(CLAIMS, none).admitted).toBe(false);
    const strict = {
      attestation: { policy: { imageDigests: [`sha256:${"00".repeat(32)}`] } },
      grants: [grant("mine", { imageDigests: [DIGEST] })],
    };
    expect(explainPolicy(CLAIMS, strict).admitted).toBe(false);
    expect(explainPolicy(CLAIMS, { grants: "none" }).admitted).toBe(false);
  });

  it("writes a failed clause's expectation into its message", () => {
    const result = explainPolicy(CLAIMS, { grants: [grant("g", { imageDigests: [`sha256:${"00".repeat(32)}`] })] });
    expect(result.failed?.message).toMatch(/ \(expected one of \[sha256:0{64}\]\)$/);
  });
});
