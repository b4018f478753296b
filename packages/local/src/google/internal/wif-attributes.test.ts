import { describe, expect, it } from "vitest";
import { applyAttributeRules, compileAttributeRules, parseAttributeMapping } from "./wif-attributes.js";

/** Claims shaped like a current Confidential Space token (swversion is an array of strings). */
const CLAIMS = {
  iss: "https://confidentialcomputing.googleapis.com",
  sub: "https://www.googleapis.com/compute/v1/projects/op/zones/us-central1-a/instances/tee",
  aud: "https://sts.googleapis.com",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  dbgstat: "disabled-since-boot",
  oemid: 11129,
  secboot: true,
  google_service_accounts: ["op@op.iam.gserviceaccount.com"],
  submods: {
    confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
    container: { image_reference: "us-docker.pkg.dev/op/repo/app@sha256:abc", image_digest: "sha256:abc" },
    gce: { project_id: "op", project_number: "42" },
  },
};

const rules = (mapping?: string | Record<string, string>, condition?: string) =>
  compileAttributeRules("test", mapping, condition);

describe("parseAttributeMapping", () => {
  it("reads gcloud's KEY=EXPR,KEY=EXPR flag text", () => {
    expect(
      parseAttributeMapping(
        "google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference",
      ),
    ).toEqual({
      "google.subject": "assertion.sub",
      "attribute.image_reference": "assertion.submods.container.image_reference",
    });
  });

  it("honours gcloud's ^DELIM^ prefix for expressions containing commas", () => {
    expect(
      parseAttributeMapping("^;^google.subject=assertion.sub;attribute.sa=assertion.x.exists(a, a == 'y')"),
    ).toEqual({
      "google.subject": "assertion.sub",
      "attribute.sa": "assertion.x.exists(a, a == 'y')",
    });
  });

  it("splits each pair on its first = only", () => {
    expect(parseAttributeMapping("google.subject=assertion.sub == 'x' ? 'a' : 'b'")).toEqual({
      "google.subject": "assertion.sub == 'x' ? 'a' : 'b'",
    });
  });
});

describe("compileAttributeRules refuses what Google refuses when a provider is created", () => {
  it.each([
    ["no google.subject", { "attribute.x": "assertion.x" }, undefined, /must map google.subject/],
    [
      "a workforce-only key",
      { "google.subject": "assertion.sub", "google.display_name": "assertion.n" },
      undefined,
      /google.display_name/,
    ],
    [
      "an upper-case attribute name",
      { "google.subject": "assertion.sub", "attribute.Image": "assertion.x" },
      undefined,
      /attribute.Image/,
    ],
    ["a mapping that is not CEL", { "google.subject": "assertion.sub ==" }, undefined, /not valid CEL/],
    ["a condition that is not CEL", undefined, "assertion.swname == ", /attribute condition is not valid CEL/],
    ["a condition over 4096 characters", undefined, `true${" && true".repeat(600)}`, /4096/],
    [
      "51 custom attributes",
      Object.fromEntries([
        ["google.subject", "assertion.sub"],
        ...Array.from({ length: 51 }, (_, i) => [`attribute.a${i}`, "assertion.sub"]),
      ]),
      undefined,
      /at most 50/,
    ],
  ])("%s", (_name, mapping, condition, message) => {
    expect(() => rules(mapping as Record<string, string> | undefined, condition)).toThrow(message);
  });
});

describe("applyAttributeRules", () => {
  it("maps google.subject = assertion.sub by default", () => {
    expect(applyAttributeRules(rules(), CLAIMS)).toEqual({ subject: CLAIMS.sub, groups: [], attributes: {} });
  });

  it("maps custom attributes, strings and lists of strings", () => {
    const mapped = applyAttributeRules(
      rules({
        "google.subject": "assertion.sub",
        "google.groups": "assertion.google_service_accounts",
        "attribute.image_reference": "assertion.submods.container.image_reference",
        "attribute.support": "assertion.submods.confidential_space.support_attributes",
      }),
      CLAIMS,
    );
    expect(mapped).toEqual({
      subject: CLAIMS.sub,
      groups: ["op@op.iam.gserviceaccount.com"],
      attributes: {
        image_reference: "us-docker.pkg.dev/op/repo/app@sha256:abc",
        support: ["LATEST", "STABLE", "USABLE"],
      },
    });
  });

  it("leaves a custom attribute unset when its claim is missing", () => {
    const mapped = applyAttributeRules(
      rules({ "google.subject": "assertion.sub", "attribute.x": "assertion.nope" }),
      CLAIMS,
    );
    expect(mapped).toEqual({ subject: CLAIMS.sub, groups: [], attributes: {} });
  });

  it("maps a quoted constant literally (google.subject='assertion.sub', as one Google codelab writes it)", () => {
    expect(applyAttributeRules(rules("google.subject='assertion.sub'"), CLAIMS)).toMatchObject({
      subject: "assertion.sub",
    });
  });

  it.each([
    [
      "a non-string google.subject",
      { "google.subject": "assertion.swversion" },
      "unauthorized_client",
      /^The mapped attribute 'google.subject' must be of type STRING\.$/,
    ],
    [
      "a missing google.subject claim",
      { "google.subject": "assertion.nope" },
      "unauthorized_client",
      /google.subject' must be of type STRING/,
    ],
    [
      "a google.subject over 127 bytes",
      { "google.subject": "assertion.sub + assertion.sub" },
      "invalid_request",
      /exceeds the 127 bytes limit/,
    ],
    [
      "a custom attribute that is a number",
      { "google.subject": "assertion.sub", "attribute.n": "assertion.oemid" },
      "unauthorized_client",
      /attribute.n' must be of type STRING or LIST/,
    ],
  ])("rejects %s", (_name, mapping, error, description) => {
    expect(applyAttributeRules(rules(mapping), CLAIMS)).toEqual({
      error,
      error_description: expect.stringMatching(description),
    });
  });

  const REJECTED = {
    error: "unauthorized_client",
    error_description: "The given credential is rejected by the attribute condition.",
  };

  it.each([
    ["true", "assertion.swname == 'CONFIDENTIAL_SPACE'", true],
    ["current swversion form", "int(assertion.swversion[0]) >= 230103", true],
    ["support attribute", "'STABLE' in assertion.submods.confidential_space.support_attributes", true],
    ["a JSON number compared with an int literal", "assertion.oemid == 11129", true],
    ["google.subject", "google.subject.startsWith('https://www.googleapis.com/compute/v1/projects/op/')", true],
    ["a mapped attribute", "attribute.image_reference.endsWith('@sha256:abc')", true],
    ["false", "assertion.swname == 'GCE'", false],
    ["old swversion form: int() of a list is a CEL error", "int(assertion.swversion) >= 1", false],
    ["a claim the token lacks: a CEL error", "'STABLE' in assertion.submods.nope.support_attributes", false],
    ["a non-boolean result", "assertion.swname", false],
    ["an unknown variable", "request.time > 0", false],
  ])("condition with %s → admitted: %s", (_name, condition, admitted) => {
    const mapping = {
      "google.subject": "assertion.sub",
      "attribute.image_reference": "assertion.submods.container.image_reference",
    };
    const result = applyAttributeRules(rules(mapping, condition), CLAIMS);
    if (admitted) expect(result).toMatchObject({ subject: CLAIMS.sub });
    else expect(result).toEqual(REJECTED);
  });

  it("short-circuits like CEL: an error on the losing side of || does not reject", () => {
    expect(applyAttributeRules(rules(undefined, "int(assertion.swversion) >= 1 || true"), CLAIMS)).toMatchObject({
      subject: CLAIMS.sub,
    });
  });
});
