import { describe, expect, it } from "vitest";
import { explainAws } from "./explain-aws.js";

const TAGS = "https://aws.amazon.com/tags";
const CLAIMS = {
  aud: "https://relying-party.example.com",
  sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
  [TAGS]: {
    principal_tags: {
      swname: ["CONFIDENTIAL_SPACE"],
      hwmodel: ["GCP_INTEL_TDX"],
      "gce.project_id": ["prod-project"],
      "Container.Image_Digest": ["sha256:ab"],
    },
  },
};
const allow = (Condition: Record<string, Record<string, unknown>>) => ({ Statement: [{ Effect: "Allow", Condition }] });
/** The one clause of a single condition. */
const one = (operator: string, key: string, value: unknown, claims: Record<string, unknown> = CLAIMS) => {
  const { clauses, admitted } = explainAws(allow({ [operator]: { [key]: value } }), claims);
  expect(clauses).toHaveLength(1);
  expect(clauses[0]!.ok).toBe(admitted);
  return clauses[0]!;
};

describe("explainAws", () => {
  it.each([
    ["StringEquals", "aws:RequestTag/swname", "CONFIDENTIAL_SPACE", true],
    ["StringEquals", "aws:RequestTag/swname", "confidential_space", false],
    ["StringEqualsIgnoreCase", "aws:RequestTag/swname", "confidential_space", true],
    ["StringNotEquals", "aws:RequestTag/swname", "CONFIDENTIAL_SPACE", false],
    ["StringNotEquals", "aws:RequestTag/swname", "OTHER", true],
    ["StringLike", "aws:RequestTag/hwmodel", "GCP_*", true],
    ["StringLike", "aws:RequestTag/hwmodel", "GCP_INTEL_TD?", true],
    ["StringLike", "aws:RequestTag/hwmodel", "GCP.INTEL.TDX", false],
    ["StringLike", "aws:RequestTag/hwmodel", "INTEL*", false],
    ["StringLike", "aws:RequestTag/hwmodel", "*TDX", true],
    ["StringNotLike", "aws:RequestTag/hwmodel", "GCP_AMD*", true],
    ["StringEquals", "aws:RequestTag/gce.project_id", ["other", "prod-project"], true],
    ["StringEquals", "aws:requesttag/container.image_digest", "sha256:ab", true],
    ["Bool", "aws:RequestTag/swname", "confidential_space", true],
    ["NumericEquals", "aws:RequestTag/swname", "1", false],
    ["StringEquals", "accounts.google.com:aud", "https://relying-party.example.com", true],
    ["StringEquals", "confidentialcomputing.googleapis.com:sub", "x", false],
    ["StringEqualsIfExists", "aws:RequestTag/gce.zone", "z", true],
    ["StringEquals", "aws:RequestTag/gce.zone", "z", false],
    ["ForAllValues:StringEquals", "aws:RequestTag/gce.zone", "z", true],
    ["ForAnyValue:StringEquals", "aws:RequestTag/gce.zone", "z", false],
    ["ForAllValues:StringEquals", "aws:RequestTag/swname", "CONFIDENTIAL_SPACE", true],
    ["ForAnyValue:StringLike", "aws:RequestTag/swname", "CONF*", true],
    ["Null", "aws:RequestTag/gce.zone", "true", true],
    ["Null", "aws:RequestTag/gce.zone", "false", false],
    ["Null", "aws:RequestTag/swname", "false", true],
    ["StringNotEquals", "aws:RequestTag/gce.zone", "z", true],
  ])("%s %s %j holds: %s", (operator, key, value, ok) => {
    expect(one(operator, key, value).ok).toBe(ok);
  });

  it("names the claim and its value, or says the token has none", () => {
    expect(one("StringEquals", "aws:RequestTag/swname", "OTHER")).toEqual({
      clause: 'Statement[0] StringEquals aws:RequestTag/swname "OTHER"',
      ok: false,
      claim: `${TAGS}.principal_tags.swname`,
      value: "CONFIDENTIAL_SPACE",
      message: 'does not hold for "CONFIDENTIAL_SPACE"',
    });
    expect(one("StringEquals", "aws:RequestTag/gce.zone", "z")).toEqual({
      clause: 'Statement[0] StringEquals aws:RequestTag/gce.zone "z"',
      ok: false,
      claim: `${TAGS}.principal_tags.gce.zone`,
      message: "the token has no such value",
    });
    expect(one("StringEquals", "x:aud", "a", { ...CLAIMS, aud: ["a", "b"] })).toMatchObject({
      ok: true,
      claim: "aud",
      value: ["a", "b"],
      message: "holds",
    });
    expect(one("StringEquals", "x:aud", "a", { ...CLAIMS, aud: ["c", "b"] }).message).toBe(
      'does not hold for ["c","b"]',
    );
    expect(one("StringEquals", "x:aud", "a", { ...CLAIMS, aud: 7 }).message).toBe("the token has no such value");
  });

  it("says a tag Google never sets can never hold", () => {
    expect(one("StringEquals", "aws:RequestTag/dbgstat", "disabled-since-boot").message).toBe(
      "Google's principal tags have no dbgstat tag: this condition never holds",
    );
    expect(one("StringEquals", "aws:RequestTag/gce.zone", "z").message).toBe("the token has no such value");
  });

  it("does not check what the request decides", () => {
    expect(one("StringEquals", "sts:RoleSessionName", "s")).toEqual({
      clause: 'Statement[0] StringEquals sts:RoleSessionName "s"',
      ok: true,
      message: "depends on the request, not the token: not checked",
    });
  });

  it("admits by any Allow statement whose conditions all hold, unless a Deny statement matches", () => {
    const yes = { StringEquals: { "aws:RequestTag/swname": "CONFIDENTIAL_SPACE" } };
    const no = { StringEquals: { "aws:RequestTag/swname": "OTHER" } };
    const two = (a: object, b: object) => ({
      Statement: [
        { Effect: "Allow", Condition: a },
        { Effect: "Allow", Condition: b },
      ],
    });
    expect(explainAws(two(no, yes), CLAIMS).admitted).toBe(true);
    expect(explainAws(two(no, no), CLAIMS).admitted).toBe(false);
    const denied = explainAws(
      {
        Statement: [
          { Effect: "Allow", Condition: yes },
          { Effect: "Deny", Condition: yes },
        ],
      },
      CLAIMS,
    );
    expect(denied.admitted).toBe(false);
    expect(denied.clauses.at(-1)).toEqual({
      clause: "Statement[1] Deny",
      ok: false,
      message: "a Deny statement matches this token",
    });
    const unmatched = explainAws(
      {
        Statement: [
          { Effect: "Allow", Condition: yes },
          { Effect: "Deny", Condition: no },
        ],
      },
      CLAIMS,
    );
    expect(unmatched).toMatchObject({ admitted: true, clauses: [{ ok: true }] });
    expect(explainAws({ Statement: { Effect: "Allow", Condition: yes } }, CLAIMS).admitted).toBe(true);
    expect(explainAws({ Statement: [{ Effect: "Allow" }] }, CLAIMS)).toMatchObject({ admitted: true, clauses: [] });
  });

  it("warns when the token carries no principal tags", () => {
    const bare = { aud: CLAIMS.aud };
    const warning = `the token has no ${TAGS} principal tags: request an AWS_PRINCIPALTAGS token`;
    expect(explainAws(allow({}), bare).warnings).toEqual([warning]);
    expect(explainAws(allow({}), { [TAGS]: {} }).warnings).toEqual([warning]);
    expect(explainAws(allow({}), { [TAGS]: null }).warnings).toEqual([warning]);
    expect(explainAws(allow({}), CLAIMS).warnings).toEqual([]);
    expect(one("StringEquals", "aws:RequestTag/swname", "CONFIDENTIAL_SPACE", bare).ok).toBe(false);
  });

  it("reads only tags whose value is a list starting with a string", () => {
    const odd = { [TAGS]: { principal_tags: { "gce.zone": "z", "gce.project_id": [7] } } };
    expect(one("StringEquals", "aws:RequestTag/gce.zone", "z", odd).message).toBe("the token has no such value");
    expect(one("StringEquals", "aws:RequestTag/gce.project_id", "7", odd).message).toBe("the token has no such value");
  });
});
