import { describe, expect, it } from "vitest";
import { loadTrustPolicy, type PolicyDocument, type TrustRequest, wildcard } from "./trust-policy.js";

const PROVIDER = "arn:aws:iam::123456789012:oidc-provider/confidentialcomputing.googleapis.com";
const DIGEST = "sha256:3f1c0e8d";

const policy: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Federated: PROVIDER },
      Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
      Condition: {
        StringEquals: {
          "confidentialcomputing.googleapis.com:aud": "https://aws.example/123",
          "aws:RequestTag/container.image_digest": DIGEST,
        },
        StringLike: { "aws:RequestTag/confidential_space.support_attributes": "*STABLE*" },
      },
    },
  ],
};

function request(
  edit: (context: Map<string, string[]>) => void = () => {},
  over: Partial<TrustRequest> = {},
): TrustRequest {
  const context = new Map<string, string[]>([
    ["confidentialcomputing.googleapis.com:aud", ["https://aws.example/123"]],
    ["aws:requesttag/container.image_digest", [DIGEST]],
    ["aws:requesttag/confidential_space.support_attributes", ["LATEST=STABLE=USABLE"]],
  ]);
  edit(context);
  return {
    action: "sts:AssumeRoleWithWebIdentity",
    principalType: "Federated",
    principals: [PROVIDER],
    context,
    ...over,
  };
}

describe("loadTrustPolicy", () => {
  const trust = loadTrustPolicy(policy, "test");

  it("allows the request the policy was written for", () => {
    expect(trust.allows(request())).toBe(true);
    expect(trust.allows(request(undefined, { action: "sts:TagSession" }))).toBe(true);
  });

  it.each<[string, (c: Map<string, string[]>) => void, Partial<TrustRequest>]>([
    ["another audience", (c) => c.set("confidentialcomputing.googleapis.com:aud", ["https://other"]), {}],
    ["no audience", (c) => c.delete("confidentialcomputing.googleapis.com:aud"), {}],
    ["another digest", (c) => c.set("aws:requesttag/container.image_digest", ["sha256:evil"]), {}],
    ["a digest that only starts the same", (c) => c.set("aws:requesttag/container.image_digest", [`${DIGEST}00`]), {}],
    ["no digest tag", (c) => c.delete("aws:requesttag/container.image_digest"), {}],
    [
      "no STABLE support attribute",
      (c) => c.set("aws:requesttag/confidential_space.support_attributes", ["LATEST=USABLE"]),
      {},
    ],
    ["another provider", () => {}, { principals: ["arn:aws:iam::123456789012:oidc-provider/evil.example"] }],
    ["an AWS principal", () => {}, { principalType: "AWS" }],
    ["another action", () => {}, { action: "sts:AssumeRole" }],
  ])("denies %s", (_name, edit, over) => {
    expect(trust.allows(request(edit, over))).toBe(false);
  });

  it("lets a Deny statement win over an Allow", () => {
    const withDeny = loadTrustPolicy(
      {
        Statement: [
          ...(policy.Statement as []),
          {
            Effect: "Deny",
            Principal: "*",
            Action: "sts:*",
            // A documented tag (Google's set has no dbgstat): refuse one zone.
            Condition: { StringEquals: { "aws:RequestTag/gce.zone": "us-east1-b" } },
          },
        ],
      },
      "test",
    );
    expect(withDeny.allows(request())).toBe(true);
    expect(withDeny.allows(request((c) => c.set("aws:requesttag/gce.zone", ["us-east1-b"])))).toBe(false);
  });

  it("evaluates negated operators, IfExists, Null and set qualifiers as IAM does", () => {
    const p = (condition: Record<string, Record<string, string | string[]>>) =>
      loadTrustPolicy({ Statement: { Effect: "Allow", Principal: "*", Action: "*", Condition: condition } }, "test");
    const with_ = (entries: [string, string[]][]) =>
      request((c) => {
        c.clear();
        for (const [k, v] of entries) c.set(k, v);
      });
    expect(
      p({ StringNotEquals: { "aws:requesttag/k": ["a", "b"] } }).allows(with_([["aws:requesttag/k", ["c"]]])),
    ).toBe(true);
    expect(
      p({ StringNotEquals: { "aws:requesttag/k": ["a", "b"] } }).allows(with_([["aws:requesttag/k", ["b"]]])),
    ).toBe(false);
    expect(p({ StringNotEquals: { "aws:requesttag/k": "a" } }).allows(with_([]))).toBe(true);
    expect(p({ StringEquals: { "aws:requesttag/k": "a" } }).allows(with_([]))).toBe(false);
    expect(p({ StringEqualsIfExists: { "aws:requesttag/k": "a" } }).allows(with_([]))).toBe(true);
    expect(p({ StringEqualsIfExists: { "aws:requesttag/k": "a" } }).allows(with_([["aws:requesttag/k", ["b"]]]))).toBe(
      false,
    );
    expect(p({ Null: { "aws:requesttag/k": "true" } }).allows(with_([]))).toBe(true);
    expect(p({ Null: { "aws:requesttag/k": "false" } }).allows(with_([]))).toBe(false);
    expect(
      p({ StringEqualsIgnoreCase: { "aws:requesttag/k": "ABC" } }).allows(with_([["aws:requesttag/k", ["abc"]]])),
    ).toBe(true);
    const keys = [["aws:tagkeys", ["a", "b"]]] as [string, string[]][];
    expect(p({ "ForAllValues:StringEquals": { "aws:TagKeys": ["a", "b", "c"] } }).allows(with_(keys))).toBe(true);
    expect(p({ "ForAllValues:StringEquals": { "aws:TagKeys": ["a"] } }).allows(with_(keys))).toBe(false);
    expect(p({ "ForAllValues:StringEquals": { "aws:TagKeys": ["a"] } }).allows(with_([]))).toBe(true);
    expect(p({ "ForAnyValue:StringEquals": { "aws:TagKeys": ["b"] } }).allows(with_(keys))).toBe(true);
    expect(p({ "ForAnyValue:StringEquals": { "aws:TagKeys": ["z"] } }).allows(with_([]))).toBe(false);
  });

  it("matches condition keys without regard to case, values with it", () => {
    const p = loadTrustPolicy(
      {
        Statement: {
          Effect: "Allow",
          Principal: "*",
          Action: "*",
          Condition: { StringEquals: { "AWS:RequestTag/Env": "Prod" } },
        },
      },
      "test",
    );
    expect(p.allows(request((c) => c.set("aws:requesttag/env", ["Prod"])))).toBe(true);
    expect(p.allows(request((c) => c.set("aws:requesttag/env", ["prod"])))).toBe(false);
  });

  it.each([
    ["NotPrincipal", { Effect: "Allow", NotPrincipal: { AWS: "x" }, Principal: "*", Action: "*" }],
    ["NotAction", { Effect: "Allow", Principal: "*", NotAction: "x", Action: "*" }],
    ["an unknown operator", { Effect: "Allow", Principal: "*", Action: "*", Condition: { ArnLike: { k: "v" } } }],
    [
      "a policy variable",
      {
        Effect: "Allow",
        Principal: "*",
        Action: "*",
        Condition: { StringEquals: { k: ["$", "{aws:username}"].join("") } },
      },
    ],
    ["a bad Effect", { Effect: "Maybe", Principal: "*", Action: "*" }],
    ["no Principal", { Effect: "Allow", Action: "*" }],
  ])("refuses a policy with %s when it is loaded", (_name, statement) => {
    expect(() => loadTrustPolicy({ Statement: statement as never }, "role X")).toThrow(/role X/);
  });
});

describe("wildcard", () => {
  it.each([
    ["sts:*", "sts:AssumeRole", true],
    ["sts:Assume?ole", "sts:AssumeRole", true],
    ["*STABLE*", "LATEST=STABLE=USABLE", true],
    ["*STABLE*", "LATEST=USABLE", false],
    ["a.b", "axb", false],
    ["repo:(x)", "repo:(x)", true],
  ])("%s against %s is %s", (pattern, value, expected) => {
    expect(wildcard(pattern, value)).toBe(expected);
  });
});
