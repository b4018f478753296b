import { describe, expect, it } from "vitest";
import { explainCel, splitConjuncts } from "./explain-cel.js";

const ISSUER = "https://confidentialcomputing.googleapis.com";
const CLAIMS = {
  iss: ISSUER,
  aud: "https://sts.example",
  sub: "subject-1",
  eat_nonce: "nonce-not-shown",
  swversion: ["250301"],
  secboot: true,
  google_service_accounts: ["a@p.iam.gserviceaccount.com"],
  submods: { gce: { project_id: "prod-project" }, container: { env: { KEY: "env-not-shown" } } },
};
const explain = (attributeCondition: string, extra: object = {}, claims: object = CLAIMS) =>
  explainCel({ attributeCondition, ...extra }, claims as Record<string, unknown>);

describe("splitConjuncts", () => {
  it.each([
    ["a && b", ["a", "b"]],
    ["a&&b&&c", ["a", "b", "c"]],
    ["(a && b) && c", ["(a && b)", "c"]],
    ["f([a && b]) && {x: y && z}", ["f([a && b])", "{x: y && z}"]],
    ["'x && y' && \"p && q\"", ["'x && y'", '"p && q"']],
    ["'it\\'s && so' && b", ["'it\\'s && so'", "b"]],
    ["a & b", ["a & b"]],
    ["  a  &&  ", ["a"]],
    ["", []],
  ])("splits %j", (text, parts) => {
    expect(splitConjuncts(text)).toEqual(parts);
  });
});

describe("explainCel", () => {
  it("checks allowed audiences when the provider lists some", () => {
    expect(explain("true", { allowedAudiences: ["https://sts.example"] }).clauses[0]).toEqual({
      clause: 'allowedAudiences ["https://sts.example"]',
      ok: true,
      claim: "aud",
      value: "https://sts.example",
      message: "the token's audience is allowed",
    });
    expect(explain("true", { allowedAudiences: ["https://other"] }).clauses[0]).toMatchObject({
      ok: false,
      message: "the token's aud is not one of the provider's allowed audiences",
    });
    const listed = explain("true", { allowedAudiences: ["b"] }, { ...CLAIMS, aud: ["a", "b", 3] }).clauses[0];
    expect(listed?.ok).toBe(true);
    expect(explain("true", { allowedAudiences: ["b"] }, { ...CLAIMS, aud: 3 }).clauses[0]?.ok).toBe(false);
    expect(explain("true", { allowedAudiences: [] }).clauses.map((c) => c.clause)).toEqual(["true"]);
  });

  it("compares the issuer without trailing slashes, and only when the token has one", () => {
    expect(explain("true", { issuerUri: `${ISSUER}/` }).clauses[0]).toEqual({
      clause: `issuerUri "${ISSUER}/"`,
      ok: true,
      claim: "iss",
      value: ISSUER,
      message: "the issuer matches",
    });
    expect(explain("true", { issuerUri: "https://other" }).clauses[0]).toMatchObject({
      ok: false,
      message: "the token's iss is not the provider's issuer",
    });
    expect(explain("true", { issuerUri: ISSUER }, { ...CLAIMS, iss: 1 }).clauses).toHaveLength(1);
  });

  it("evaluates each conjunct, naming the first claim it reads and its value", () => {
    const { clauses } = explain(
      "assertion.submods.gce.project_id == 'prod-project' && assertion.secboot == false && true",
    );
    expect(clauses).toEqual([
      {
        clause: "assertion.submods.gce.project_id == 'prod-project'",
        ok: true,
        claim: "submods.gce.project_id",
        value: "prod-project",
        message: "holds",
      },
      { clause: "assertion.secboot == false", ok: false, claim: "secboot", value: true, message: "is false" },
      { clause: "true", ok: true, message: "holds" },
    ]);
  });

  it("calls a non-boolean result a refusal", () => {
    expect(explain("assertion.sub").clauses[0]).toMatchObject({ ok: false, message: 'is "subject-1"' });
  });

  it("explains int() of a list, the classic trap", () => {
    const [clause] = explain("int(assertion.swversion) >= 250000").clauses;
    expect(clause?.ok).toBe(false);
    expect(clause?.message).toMatch(
      /^is a CEL error \(.+\), which rejects every token: swversion is a list \(\["250301"\]\) and int\(\) of a list is an error; use int\(assertion\.swversion\[0\]\)$/,
    );
    expect(explain("int(assertion.swversion[0]) >= 250000").clauses[0]?.ok).toBe(true);
  });

  it("names a missing claim behind a CEL error", () => {
    const [clause] = explain("assertion.submods.gce.zone == 'z'").clauses;
    expect(clause?.message).toMatch(
      /^is a CEL error \(.+\), which rejects every token: the token has no submods\.gce\.zone$/,
    );
  });

  it("reports CEL that does not parse", () => {
    expect(explain("assertion.sub ==").clauses[0]?.message).toMatch(
      /^is a CEL error \(not valid CEL: .+\), which rejects every token$/,
    );
  });

  it("keeps a hidden claim's value out of a CEL error", () => {
    const [clause] = explain("int(assertion.eat_nonce) > 0").clauses;
    expect(clause?.message).toBe("is a CEL error, which rejects every token");
    expect(clause).not.toHaveProperty("value");
    expect(JSON.stringify(explain("assertion.submods.container.env.KEY == 'x'"))).not.toContain("env-not-shown");
  });

  it("points at a literal that differs from the claim only by whitespace", () => {
    expect(explain("assertion.submods.gce.project_id == 'prod-project '").clauses[0]?.message).toBe(
      'is false: the literal "prod-project " has surrounding whitespace; the claim is "prod-project"',
    );
    expect(explain('"a@p.iam.gserviceaccount.com " in assertion.google_service_accounts').clauses[0]?.message).toBe(
      'is false: the literal "a@p.iam.gserviceaccount.com " has surrounding whitespace; the claim is "a@p.iam.gserviceaccount.com"',
    );
    expect(explain("assertion.submods.gce.project_id == 'other '").clauses[0]?.message).toBe("is false");
  });

  it("binds the mapped google.subject, google.groups and attributes for the condition", () => {
    const attributeMapping = {
      "google.subject": "assertion.sub",
      "google.groups": "['g1']",
      "attribute.project": "assertion.submods.gce.project_id",
      "attribute.broken": "assertion.missing.x",
      other: "assertion.sub",
    };
    const { clauses } = explain(
      "google.subject == 'subject-1' && 'g1' in google.groups && attribute.project == 'prod-project'",
      { attributeMapping },
    );
    expect(clauses.map((c) => c.ok)).toEqual([true, true, true]);
    expect(explain("size(google.groups) == 0").clauses[0]?.ok).toBe(true);
    expect(explain("attribute.broken == 'x'", { attributeMapping }).clauses[0]?.ok).toBe(false);
  });
});
