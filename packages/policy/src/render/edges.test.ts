// The renderers' refusals, each with its message, and the edges of what they write.
import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import type { WorkloadPolicy } from "../workload-policy.js";
import { renderAws } from "./aws.js";
import { renderBroker } from "./broker.js";
import { renderGcp } from "./gcp.js";
import { PolicyNotExpressibleError } from "./internal/effective.js";
import { celList, celString, shellQuote } from "./internal/quote.js";
import { renderVault } from "./vault.js";

const DIGEST = `sha256:${"a1".repeat(32)}`;
const AUDIENCE = "https://relying-party.example.com";
const SA = "workload@prod-project.iam.gserviceaccount.com";
const KEY = (c: string) => c.repeat(64);
const GCP = { poolProjectNumber: "111122223333", poolId: "confspace-pool", providerId: "confspace-cs" };
const PINNED: WorkloadPolicy = { imageDigests: [DIGEST], audience: AUDIENCE };

function refusal(render: () => unknown): { name: string; option?: string; clause?: string; message: string } {
  try {
    render();
  } catch (error) {
    if (error instanceof InvalidOptionError) return { name: error.name, option: error.option, message: error.message };
    if (error instanceof PolicyNotExpressibleError) {
      return { name: error.name, clause: error.clause, message: `${error.target} ${error.message}` };
    }
    throw error;
  }
  return expect.unreachable("the rendering should have been refused");
}

describe("option refusals", () => {
  const NUMBER = "renderGcp: poolProjectNumber must be a decimal project number";
  const POOL = "renderGcp: poolId must be 4–32 of a-z, 0-9, -";
  const PROVIDER = "renderGcp: providerId must be 4–32 of a-z, 0-9, -";
  it.each([
    ["a project number with a letter before", { poolProjectNumber: "x111" }, "poolProjectNumber", NUMBER],
    ["a project number with a letter after", { poolProjectNumber: "111x" }, "poolProjectNumber", NUMBER],
    ["an empty project number", { poolProjectNumber: "" }, "poolProjectNumber", NUMBER],
    ["a pool id of 3 characters", { poolId: "abc" }, "poolId", POOL],
    ["a pool id with a character before", { poolId: "!pool" }, "poolId", POOL],
    ["a pool id with a character after", { poolId: "pool!" }, "poolId", POOL],
    ["a provider id in upper case", { providerId: "Provider" }, "providerId", PROVIDER],
    ["a provider id of 33 characters", { providerId: "p".repeat(33) }, "providerId", PROVIDER],
  ])("renderGcp refuses %s", (_name, options, option, message) => {
    expect(refusal(() => renderGcp(PINNED, { ...GCP, ...options }))).toEqual({
      name: "InvalidOptionError",
      option,
      message,
    });
  });

  it.each([["kms"], ["kms keys"], ["   "]])("renderGcp refuses the binding resource %j", (resource) => {
    expect(refusal(() => renderGcp(PINNED, { ...GCP, binding: { resource, role: "roles/x" } }))).toEqual({
      name: "InvalidOptionError",
      option: "binding.resource",
      message:
        'renderGcp: binding.resource must be "GROUP SUBGROUP RESOURCE [FLAGS…]", e.g. "kms keys key1 --keyring=kr1 --location=global"',
    });
  });

  it("renderGcp takes a binding resource of three words and no flags", () => {
    const { commands } = renderGcp(PINNED, { ...GCP, binding: { resource: "kms keys key1", role: "roles/x" } });
    expect(commands[1]).toMatch(/^gcloud kms keys add-iam-policy-binding key1 \\\n/);
  });

  it("renderGcp splits a binding resource on any run of spaces", () => {
    const { commands } = renderGcp(PINNED, {
      ...GCP,
      binding: { resource: "  secrets   versions  latest --secret=s1 ", role: "roles/secretmanager.secretAccessor" },
    });
    expect(commands[1]).toBe(
      `gcloud secrets versions add-iam-policy-binding latest --secret=s1 \\\n  --member=principalSet://iam.googleapis.com/projects/111122223333/locations/global/workloadIdentityPools/confspace-pool/attribute.image_digest/${DIGEST} \\\n  --role=roles/secretmanager.secretAccessor`,
    );
  });

  const ACCOUNT = "renderAws: accountId must be 12 digits";
  it.each([["12345678901"], ["x123456789012"], ["123456789012x"]])("renderAws refuses the account %s", (accountId) => {
    expect(refusal(() => renderAws(PINNED, { accountId }))).toEqual({
      name: "InvalidOptionError",
      option: "accountId",
      message: ACCOUNT,
    });
  });

  it("renderAws and renderVault need the policy's audience", () => {
    expect(refusal(() => renderAws({ imageDigests: [DIGEST] }, { accountId: "444455556666" }))).toEqual({
      name: "InvalidOptionError",
      option: "policy.audience",
      message: "renderAws: the policy needs an audience (the provider's client ID)",
    });
    expect(refusal(() => renderVault({ imageDigests: [DIGEST] }, { tokenPolicies: ["p"] }))).toEqual({
      name: "InvalidOptionError",
      option: "policy.audience",
      message: "renderVault: the policy needs an audience (bound_audiences)",
    });
  });

  it("renderVault needs a token policy and a jwksUrl that parses", () => {
    expect(refusal(() => renderVault(PINNED, { tokenPolicies: [] }))).toEqual({
      name: "InvalidOptionError",
      option: "tokenPolicies",
      message: "renderVault: tokenPolicies needs at least one Vault policy",
    });
    expect(refusal(() => renderVault(PINNED, { tokenPolicies: ["p"], jwksUrl: "keys" }))).toEqual({
      name: "InvalidOptionError",
      option: "jwksUrl",
      message: "renderVault: jwksUrl must be a URL",
    });
  });

  it.each([[""], ["a b"], ["g".repeat(65)], ["!grant"], ["grant!"]])(
    "renderBroker refuses the grant name %j",
    (grantName) => {
      expect(refusal(() => renderBroker(PINNED, { grantName }))).toEqual({
        name: "InvalidOptionError",
        option: "grantName",
        message: "renderBroker: grantName must be 1–64 of letters, digits, . _ -",
      });
    },
  );
});

describe("what a rendering may drop", () => {
  it("Vault refuses a signatures-and-project pin once the signatures are dropped", () => {
    const policy: WorkloadPolicy = {
      ...PINNED,
      imageDigests: undefined,
      imageSignatures: { keyIds: [KEY("c")], threshold: 1 },
      projectIds: ["prod-project"],
    };
    expect(refusal(() => renderVault(policy, { tokenPolicies: ["p"], allowUnenforced: ["imageSignatures"] }))).toEqual({
      name: "PolicyNotExpressibleError",
      clause: "imageSignatures",
      message:
        "vault vault: without imageSignatures the rendered configuration pins no workload; pin image digests instead",
    });
  });

  it("Vault names every dropped clause when the pin goes with them", () => {
    const policy: WorkloadPolicy = {
      audience: AUDIENCE,
      minSwVersion: 250301,
      imageSignatures: { keyIds: [KEY("c")], threshold: 1 },
      serviceAccounts: [SA],
    };
    const options = { tokenPolicies: ["p"], allowUnenforced: ["minSwVersion", "imageSignatures"] as const };
    expect(refusal(() => renderVault(policy, options))).toEqual({
      name: "PolicyNotExpressibleError",
      clause: "minSwVersion",
      message:
        "vault vault: without minSwVersion, imageSignatures the rendered configuration pins no workload; pin image digests instead",
    });
  });

  it("Vault renders a pin by project id and service account", () => {
    const policy: WorkloadPolicy = { audience: AUDIENCE, projectIds: ["prod-project"], serviceAccounts: [SA] };
    expect(renderVault(policy, { tokenPolicies: ["p"] }).role.bound_claims).toMatchObject({
      "/submods/gce/project_id": ["prod-project"],
      "/google_service_accounts": [SA],
    });
  });

  it("Vault binds no dbgstat for a debug image and no support attribute when none is required", () => {
    const policy: WorkloadPolicy = { ...PINNED, allowDebug: true, supportAttributes: [] };
    const { role, unenforced } = renderVault(policy, { tokenPolicies: ["p"] });
    expect(Object.keys(role.bound_claims)).toEqual(["/swname", "/hwmodel", "/submods/container/image_digest"]);
    expect(unenforced.map((u) => u.clause)).toEqual(["secboot", "swversionFormat"]);
  });

  it("Vault renders a pin by project number and service account", () => {
    const policy: WorkloadPolicy = { audience: AUDIENCE, projectNumbers: ["123456789012"], serviceAccounts: [SA] };
    expect(renderVault(policy, { tokenPolicies: ["p"] }).role.bound_claims).toMatchObject({
      "/submods/gce/project_number": ["123456789012"],
      "/google_service_accounts": [SA],
    });
  });

  it("AWS refuses a project-and-service-account pin once the service accounts are dropped, naming that clause", () => {
    const policy: WorkloadPolicy = { audience: AUDIENCE, projectIds: ["prod-project"], serviceAccounts: [SA] };
    expect(
      refusal(() => renderAws(policy, { accountId: "444455556666", allowUnenforced: ["serviceAccounts"] })),
    ).toEqual({
      name: "PolicyNotExpressibleError",
      clause: "serviceAccounts",
      message:
        "aws aws: without serviceAccounts the rendered configuration pins no workload; pin image digests or signatures instead",
    });
  });

  it("AWS renders a project pin when the policy allows any workload", () => {
    const policy: WorkloadPolicy = { audience: AUDIENCE, allowAnyWorkload: true, projectIds: ["prod-project"] };
    const { trustPolicy } = renderAws(policy, { accountId: "444455556666" });
    expect(trustPolicy.Statement[0]!.Condition.StringEquals!["aws:RequestTag/gce.project_id"]).toEqual([
      "prod-project",
    ]);
  });

  it("AWS refuses a policy that requires no support attribute and refuses debug images, unless dbgstat is allowed", () => {
    const policy: WorkloadPolicy = { ...PINNED, supportAttributes: [] };
    expect(refusal(() => renderAws(policy, { accountId: "444455556666" }))).toEqual({
      name: "PolicyNotExpressibleError",
      clause: "dbgstat",
      message:
        'aws aws: dbgstat cannot be expressed (Google\'s principal tags carry no dbgstat; require a support attribute instead); pass allowUnenforced: ["dbgstat"] to render without it',
    });
    const allowed = renderAws(policy, { accountId: "444455556666", allowUnenforced: ["dbgstat"] });
    expect(allowed.unenforced.map((u) => u.clause)).toEqual(["secboot", "dbgstat", "swversionFormat"]);
    expect(allowed.trustPolicy.Statement[0]!.Condition.StringLike).not.toHaveProperty(
      "aws:RequestTag/confidential_space.support_attributes",
    );
  });

  it("AWS notes no dbgstat for a debug image that still requires a support attribute", () => {
    const policy: WorkloadPolicy = { ...PINNED, allowDebug: true };
    expect(renderAws(policy, { accountId: "444455556666" }).unenforced.map((u) => u.clause)).toEqual([
      "secboot",
      "swversionFormat",
    ]);
  });

  it("AWS renders a debug image without a support-attribute tag and without a dbgstat note", () => {
    const policy: WorkloadPolicy = { ...PINNED, allowDebug: true, supportAttributes: [] };
    const rendering = renderAws(policy, { accountId: "444455556666" });
    expect(rendering.unenforced.map((u) => u.clause)).toEqual(["secboot", "swversionFormat"]);
    expect(Object.keys(rendering.trustPolicy.Statement[0]!.Condition.StringLike!)).toEqual([
      "aws:RequestTag/swversion",
    ]);
  });

  it("AWS sorts the signature key IDs as Google sorts the tag", () => {
    const policy: WorkloadPolicy = {
      audience: AUDIENCE,
      imageSignatures: { keyIds: [KEY("f"), KEY("a"), KEY("c")], threshold: 3 },
    };
    const rendering = renderAws(policy, { accountId: "444455556666" });
    expect(rendering.tokenOptions?.allowed_principal_tags.container_image_signatures.key_ids).toEqual([
      KEY("a"),
      KEY("c"),
      KEY("f"),
    ]);
    expect(
      rendering.trustPolicy.Statement[0]!.Condition.StringLike!["aws:RequestTag/container.signatures.key_ids"]![0],
    ).toBe(`${KEY("a")}=${KEY("c")}=${KEY("f")}`);
  });

  it.each([
    ["http://issuer.example/", "issuer.example"],
    ["https://issuer.example//", "issuer.example"],
    ["https://issuer.example/tenant/", "issuer.example/tenant"],
    // Only a leading scheme goes: a later "http://" stays part of the name.
    ["issuer.example/http://x", "issuer.example/http://x"],
  ])("AWS names the OIDC provider of %s as %s", (issuer, provider) => {
    const { trustPolicy } = renderAws(PINNED, { accountId: "444455556666", issuer });
    expect(trustPolicy.Statement[0]!.Principal.Federated).toBe(`arn:aws:iam::444455556666:oidc-provider/${provider}`);
    expect(trustPolicy.Statement[0]!.Condition.StringEquals).toHaveProperty([`${provider}:aud`], AUDIENCE);
  });

  it("Vault drops every trailing slash of the issuer", () => {
    expect(renderVault(PINNED, { tokenPolicies: ["p"], issuer: "https://issuer.example//" }).authConfig).toEqual({
      oidc_discovery_url: "https://issuer.example",
      bound_issuer: "https://issuer.example",
    });
  });
});

describe("GCP's condition length limit", () => {
  /** `digests` digests and four project ids holding `extra` characters beyond the shortest (0–92). */
  const sized = (digests: number, extra: number): WorkloadPolicy => ({
    imageDigests: Array.from({ length: digests }, (_, i) => `sha256:${i.toString(16).padStart(2, "0").repeat(32)}`),
    projectIds: [0, 1, 2, 3].map((i) => `p${i}${"x".repeat(4 + Math.min(23, Math.max(0, extra - 23 * i)))}`),
  });
  /** The condition's length, or Infinity when renderGcp refuses it as too long. */
  const length = (digests: number, extra: number) => {
    try {
      return renderGcp(sized(digests, extra), GCP).attributeCondition.length;
    } catch (error) {
      if (error instanceof PolicyNotExpressibleError) return Number.POSITIVE_INFINITY;
      throw error;
    }
  };

  it("accepts a condition of exactly 4096 characters and refuses one more", () => {
    // Each digest adds a fixed run of characters, the project ids fill in the rest one by one.
    let digests = 1;
    while (length(digests + 1, 0) <= 4096) digests++;
    const extra = 4096 - length(digests, 0);
    expect(extra).toBeLessThan(92);
    expect(length(digests, extra)).toBe(4096);
    expect(refusal(() => renderGcp(sized(digests, extra + 1), GCP))).toEqual({
      name: "PolicyNotExpressibleError",
      clause: "imageDigests",
      message:
        "gcp gcp: the attribute condition would be 4097 characters, over Google's limit of 4096; list fewer digests or keys",
    });
  });

  it("names imageSignatures when signatures are what makes the condition long", () => {
    const keyIds = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(2, "0").repeat(32));
    const error = refusal(() => renderGcp({ imageSignatures: { keyIds, threshold: 2 } }, GCP));
    expect(error).toMatchObject({ name: "PolicyNotExpressibleError", clause: "imageSignatures" });
  });
});

describe("quoting", () => {
  it("writes CEL string literals with backslash, quote and newline escaped", () => {
    expect(celString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(celList(["x", 'y"'])).toBe('["x", "y\\""]');
    expect(celList([])).toBe("[]");
  });

  it.each([
    ["plain-word_1.2/3:4,5@6%7+8=9", "plain-word_1.2/3:4,5@6%7+8=9"],
    ["two words", "'two words'"],
    [" leading", "' leading'"],
    ["trailing ", "'trailing '"],
    ["it's", "'it'\\''s'"],
    ["$HOME", "'$HOME'"],
    ["", "''"],
  ])("shell-quotes %j as %s", (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });
});

describe("broker grants", () => {
  it("say allowAnyWorkload and allowDebug when the policy does", () => {
    const { match } = renderBroker(
      { allowAnyWorkload: true, allowDebug: true, supportAttributes: [] },
      { grantName: "any" },
    );
    expect(match).toEqual({
      allowAnyWorkload: true,
      hardwareModels: expect.any(Array),
      supportAttributes: [],
      allowDebug: true,
    });
  });

  it("write each of several entries of what the grant gives as its own list item", () => {
    const { grantYaml } = renderBroker(PINNED, {
      grantName: "g",
      gives: { azure: [{ scope: "a/.default" }, { scope: "b/.default" }] },
    });
    expect(grantYaml.split("\n").slice(-3)).toEqual([
      "    azure:",
      '      - scope: "a/.default"',
      '      - scope: "b/.default"',
    ]);
  });

  it("write what the grant gives, with nested entries indented under their list item", () => {
    const { grantYaml } = renderBroker(PINNED, {
      grantName: "g",
      gives: { aws: [{ roleArn: "arn:aws:iam::444455556666:role/r", sessionName: { prefix: "cs" } }] },
    });
    expect(grantYaml.split("\n").slice(-4)).toEqual([
      "    aws:",
      '      - roleArn: "arn:aws:iam::444455556666:role/r"',
      "        sessionName:",
      '          prefix: "cs"',
    ]);
  });
});
