import { describe, expect, it } from "vitest";
import { explainVaultConfig, explainVaultRole } from "./explain-vault.js";

const CLAIMS = {
  iss: "https://confidentialcomputing.googleapis.com",
  aud: "https://vault.example.com",
  sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
  secboot: true,
  oemid: 11129,
  swversion: ["250301"],
  "odd/name~": "odd",
  submods: { gce: { project_id: "prod-project" }, container: { env: { KEY: "secret-value" } } },
};

const ROLE_FIELDS = [
  "role_type",
  "bound_audiences",
  "user_claim",
  "user_claim_json_pointer",
  "clock_skew_leeway",
  "expiration_leeway",
  "not_before_leeway",
  "bound_subject",
  "bound_claims",
  "bound_claims_type",
  "groups_claim",
  "claim_mappings",
  "oidc_scopes",
  "allowed_redirect_uris",
  "verbose_oidc_logging",
  "max_age",
  "token_ttl",
  "token_max_ttl",
  "token_policies",
  "policies",
  "token_bound_cidrs",
  "bound_cidrs",
  "token_explicit_max_ttl",
  "token_no_default_policy",
  "token_num_uses",
  "token_period",
  "token_type",
  "ttl",
  "max_ttl",
  "period",
  "num_uses",
  "alias_metadata",
];
const CONFIG_FIELDS = [
  "oidc_discovery_url",
  "oidc_discovery_ca_pem",
  "oidc_client_id",
  "oidc_client_secret",
  "oidc_response_mode",
  "oidc_response_types",
  "jwks_url",
  "jwks_ca_pem",
  "jwks_pairs",
  "jwt_validation_pubkeys",
  "jwt_supported_algs",
  "bound_issuer",
  "default_role",
  "provider_config",
  "namespace_in_state",
  "unsupported_critical_cert_extensions",
];

describe("explainVaultConfig", () => {
  it("knows every JWT auth config field, and names a field it does not know", () => {
    const known = Object.fromEntries(CONFIG_FIELDS.map((f) => [f, f === "bound_issuer" ? CLAIMS.iss : "x"]));
    expect(explainVaultConfig(known, CLAIMS).warnings).toEqual([]);
    expect(explainVaultConfig({ bound_isuer: "x" }, CLAIMS).warnings).toEqual([
      "bound_isuer is not a JWT auth config field: Vault ignores it",
    ]);
  });

  it.each([
    [CLAIMS.iss, true, "the issuer matches"],
    [
      `${CLAIMS.iss}//`,
      false,
      "bound_issuer has a trailing slash the token's iss does not: Vault compares exactly; remove it",
    ],
    ["https://other.example", false, "the token's iss is not bound_issuer"],
  ])("compares bound_issuer %s with iss exactly", (bound, ok, message) => {
    expect(explainVaultConfig({ bound_issuer: bound }, CLAIMS).clauses).toEqual([
      { clause: `bound_issuer ${JSON.stringify(bound)}`, ok, claim: "iss", value: CLAIMS.iss, message },
    ]);
  });

  it("says nothing of an empty or absent bound_issuer", () => {
    expect(explainVaultConfig({ bound_issuer: "" }, CLAIMS).clauses).toEqual([]);
    expect(explainVaultConfig({}, CLAIMS).clauses).toEqual([]);
  });

  it("gives no trailing-slash hint when the token has no string iss", () => {
    const [clause] = explainVaultConfig({ bound_issuer: `${CLAIMS.iss}/` }, { iss: 1 }).clauses;
    expect(clause?.message).toBe("the token's iss is not bound_issuer");
  });
});

describe("explainVaultRole", () => {
  const role = (fields: Record<string, unknown>) =>
    explainVaultRole({ bound_audiences: [CLAIMS.aud], ...fields }, CLAIMS);
  const clause = (fields: Record<string, unknown>, prefix: string) =>
    role(fields).clauses.find((c) => c.clause.startsWith(prefix));

  it("knows every JWT role field, and suggests the right name for a near miss", () => {
    const known = Object.fromEntries(ROLE_FIELDS.map((f) => [f, f === "bound_audiences" ? [CLAIMS.aud] : "x"]));
    expect(explainVaultRole(known, CLAIMS).warnings).toEqual([]);
    expect(role({ claims_mappings: {}, bound_claim: {}, bound_audience: "x", boundclaims: {} }).warnings).toEqual([
      "claims_mappings is not a JWT role field: Vault ignores it; did you mean claim_mappings?",
      "bound_claim is not a JWT role field: Vault ignores it; did you mean bound_claims?",
      "bound_audience is not a JWT role field: Vault ignores it; did you mean bound_audiences?",
      "boundclaims is not a JWT role field: Vault ignores it",
    ]);
  });

  it.each([
    ["a list holding the token's aud", [CLAIMS.aud], true, "the audience is bound"],
    ["a comma-separated string holding it", `https://x.example,${CLAIMS.aud}`, true, "the audience is bound"],
    ["a list without it", ["https://x.example"], false, "the token's aud is not in bound_audiences"],
    ["nothing", undefined, false, "the token carries aud but the role binds no audiences: Vault refuses it"],
    ["a number", 7, false, "the token carries aud but the role binds no audiences: Vault refuses it"],
  ])("checks bound_audiences given as %s", (_name, bound_audiences, ok, message) => {
    const [first] = explainVaultRole({ bound_audiences }, CLAIMS).clauses;
    expect(first).toMatchObject({ claim: "aud", ok, message, value: CLAIMS.aud });
  });

  it("matches any entry of a token's aud list, and says nothing of audiences when neither side has any", () => {
    const listed = explainVaultRole({ bound_audiences: ["b"] }, { ...CLAIMS, aud: ["a", "b"] }).clauses[0];
    expect(listed).toMatchObject({ clause: 'bound_audiences ["b"]', ok: true });
    const none = explainVaultRole({}, { sub: "s" }).clauses;
    expect(none.map((c) => c.clause)).toEqual(['user_claim "sub"']);
  });

  it("checks bound_subject exactly when set", () => {
    expect(clause({ bound_subject: CLAIMS.sub }, "bound_subject")).toMatchObject({
      ok: true,
      claim: "sub",
      message: "the subject matches",
    });
    expect(clause({ bound_subject: "other" }, "bound_subject")).toMatchObject({
      ok: false,
      message: "the token's sub is not bound_subject",
    });
    expect(clause({ bound_subject: "" }, "bound_subject")).toBeUndefined();
  });

  it.each([
    [undefined, "sub", true],
    ["oemid", "oemid", true],
    ["/submods/gce/project_id", "submods.gce.project_id", true],
    ["/odd~1name~0", "odd/name~", true],
    ["missing", "missing", false],
    ["secboot", "secboot", false],
  ])("needs the user_claim %s as a string or number", (user_claim, path, ok) => {
    expect(clause({ user_claim }, "user_claim")).toEqual({
      clause: `user_claim ${JSON.stringify(user_claim ?? "sub")}`,
      ok,
      claim: path,
      message: ok ? "present" : "the token has no such claim (or it is not a string): Vault refuses the login",
    });
  });

  it.each([
    ["a matching string", { "/submods/gce/project_id": "prod-project" }, true, "matches"],
    ["a list with a match", { "/submods/gce/project_id": ["x", "prod-project"] }, true, "matches"],
    ["a bool against a bool claim", { secboot: true }, true, "matches"],
    ["a list claim", { swversion: "250301" }, true, "matches"],
    ["no match", { "/submods/gce/project_id": ["other"] }, false, "no listed value matches"],
    [
      "a value with a space around it",
      { "/submods/gce/project_id": [" prod-project "] },
      false,
      'no listed value matches: the bound value " prod-project " has surrounding whitespace; the claim is "prod-project"',
    ],
    ["a missing claim", { "/submods/gce/zone": "z" }, false, "the claim is missing"],
    ["a number claim", { oemid: "11129" }, false, "the claim is neither a string nor a list: Vault refuses it"],
  ])("checks bound_claims: %s", (_name, bound_claims, ok, message) => {
    expect(clause({ bound_claims }, "bound_claims")).toMatchObject({ ok, message });
  });

  it("shows a bound claim's value unless it is hidden, and names it by path", () => {
    expect(clause({ bound_claims: { "/submods/gce/project_id": "prod-project" } }, "bound_claims")).toEqual({
      clause: 'bound_claims./submods/gce/project_id "prod-project"',
      ok: true,
      claim: "submods.gce.project_id",
      value: "prod-project",
      message: "matches",
    });
    // The role's own value is the operator's; the token's is never shown.
    const hidden = clause({ bound_claims: { "/submods/container/env/KEY": "other-value" } }, "bound_claims");
    expect(hidden).not.toHaveProperty("value");
    expect(JSON.stringify(hidden)).not.toContain("secret-value");
  });

  it.each([
    ["prod-*", true],
    ["*-project", true],
    ["p*d-pro*t", true],
    ["prod.project", false],
    ["prod-", false],
    ["*", true],
  ])("with bound_claims_type glob, matches %s as %s", (pattern, ok) => {
    const result = clause(
      { bound_claims_type: "glob", bound_claims: { "/submods/gce/project_id": pattern } },
      "bound_claims",
    );
    expect(result?.ok).toBe(ok);
    const exact = clause({ bound_claims: { "/submods/gce/project_id": pattern } }, "bound_claims");
    expect(exact?.ok).toBe(false);
  });
});
