import { DEFAULT_PROFILE } from "@confspace/emulator";
import { describe, expect, it } from "vitest";
import { del, type Json, type Mutation, set } from "../../test/verify/test-tokens.js";
import { checkClaimTypes } from "./claim-types.js";
import { AttestationPolicyError, type PolicyCheck } from "./errors.js";

/** Every documented claim present, with the emulator's production-like values. */
function full(): Json {
  const claims = structuredClone(DEFAULT_PROFILE) as unknown as Json & { submods: Json & { container: Json } };
  Object.assign(claims, {
    iss: "https://confidentialcomputing.googleapis.com",
    aud: "https://relying-party.example",
    sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
    iat: 1_800_000_000,
    nbf: 1_800_000_000,
    exp: 1_800_003_600,
    jti: "6d3f",
    eat_nonce: ["n1", "n2"],
    "https://aws.amazon.com/tags": { principal_tags: { "container.image_digest": ["sha256:ab"] } },
  });
  Object.assign(claims.submods.container, {
    env_override: { MODE: "prod" },
    cmd_override: ["/app/server", "--serve"],
    image_signatures: [{ key_id: "k1", signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" }],
  });
  return claims;
}

function failure(mutation: Mutation): AttestationPolicyError | undefined {
  const claims = full();
  mutation(claims);
  try {
    checkClaimTypes(claims);
  } catch (error) {
    return error as AttestationPolicyError;
  }
  return undefined;
}

const C = "submods.container";
const TAGS = "https://aws.amazon.com/tags";
// The claim name holds dots, which `set` would split.
const setTags =
  (value: unknown): Mutation =>
  (c) => {
    c[TAGS] = value;
  };
// One wrong type per row, including claims no policy field reads.
const rows: [name: string, mutation: Mutation, check: PolicyCheck, claim: string][] = [
  ["jti as a number", set("jti", 1), "claim_type", "jti"],
  ["eat_profile as an object", set("eat_profile", {}), "claim_type", "eat_profile"],
  ["eat_nonce holding a number", set("eat_nonce", ["n1", 2]), "claim_type", "eat_nonce"],
  ["aud as a number", set("aud", 1), "claim_type", "aud"],
  ["oemid as a string", set("oemid", "11129"), "claim_type", "oemid"],
  ["iat as a string", set("iat", "1800000000"), "claim_type", "iat"],
  ["exp as null", set("exp", null), "claim_type", "exp"],
  ["dbgstat as a boolean", set("dbgstat", false), "claim_type", "dbgstat"],
  ["hwmodel as an array", set("hwmodel", ["GCP_AMD_SEV"]), "claim_type", "hwmodel"],
  ["swname as a number", set("swname", 1), "claim_type", "swname"],
  ["no swname", del("swname"), "missing_claim", "swname"],
  ["no submods", del("submods"), "missing_claim", "submods"],
  [
    "google_service_accounts holding an object",
    set("google_service_accounts", [{}]),
    "claim_type",
    "google_service_accounts",
  ],
  ["submods.container as an array", set(C, []), "claim_type", C],
  ["image_reference as a number", set(`${C}.image_reference`, 1), "claim_type", `${C}.image_reference`],
  ["image_id as null", set(`${C}.image_id`, null), "claim_type", `${C}.image_id`],
  ["env with a number value", set(`${C}.env`, { PORT: 8080 }), "claim_type", `${C}.env.PORT`],
  ["env as an array", set(`${C}.env`, ["A=1"]), "claim_type", `${C}.env`],
  ["env_override with an object value", set(`${C}.env_override`, { A: {} }), "claim_type", `${C}.env_override.A`],
  ["cmd_override as a string", set(`${C}.cmd_override`, "/app/server"), "claim_type", `${C}.cmd_override`],
  ["args holding a number", set(`${C}.args`, ["--port", 8080]), "claim_type", `${C}.args`],
  ["image_signatures as an object", set(`${C}.image_signatures`, {}), "claim_type", `${C}.image_signatures`],
  [
    "an image signature without key_id",
    del(`${C}.image_signatures.0.key_id`),
    "missing_claim",
    `${C}.image_signatures.key_id`,
  ],
  [
    "an image signature key_id as a number",
    set(`${C}.image_signatures.0.key_id`, 7),
    "claim_type",
    `${C}.image_signatures.key_id`,
  ],
  ["an image signature that is a string", set(`${C}.image_signatures`, ["k1"]), "claim_type", `${C}.image_signatures`],
  ["gce.zone as a number", set("submods.gce.zone", 1), "claim_type", "submods.gce.zone"],
  ["gce.instance_id as a number", set("submods.gce.instance_id", 4567), "claim_type", "submods.gce.instance_id"],
  ["gce.instance_name as an array", set("submods.gce.instance_name", ["i"]), "claim_type", "submods.gce.instance_name"],
  [
    "monitoring_enabled.memory as a string",
    set("submods.confidential_space.monitoring_enabled.memory", "false"),
    "claim_type",
    "submods.confidential_space.monitoring_enabled.memory",
  ],
  [
    "monitoring_enabled as a boolean",
    set("submods.confidential_space.monitoring_enabled", true),
    "claim_type",
    "submods.confidential_space.monitoring_enabled",
  ],
  ["AWS tags without principal_tags", setTags({}), "missing_claim", `${TAGS}.principal_tags`],
  [
    "an AWS tag value as a string",
    setTags({ principal_tags: { "container.image_digest": "sha256:ab" } }),
    "claim_type",
    `${TAGS}.principal_tags.container.image_digest`,
  ],
];

describe("checkClaimTypes", () => {
  it("accepts every documented claim with its documented type", () => {
    expect(failure(() => {})).toBeUndefined();
  });

  it("accepts a token with only the required claims and unknown extra claims", () => {
    const minimal = (c: Json) => {
      for (const name of ["jti", "eat_nonce", "eat_profile", "oemid", "google_service_accounts", TAGS]) delete c[name];
      c.submods = { tdx: { anything: 1 } };
      c.attester_tcb = ["INTEL"];
    };
    expect(failure(minimal)).toBeUndefined();
  });

  it.each(rows)("refuses %s", (_name, mutation, check, claim) => {
    const error = failure(mutation);
    expect(error).toBeInstanceOf(AttestationPolicyError);
    expect(error).toMatchObject({ check, claim });
  });

  it("names the claim, never its value", () => {
    const error = failure(set(`${C}.env`, { API_KEY: 12345678901 }));
    expect(error?.message).not.toContain("12345678901");
  });
});

/** What each documented claim must be, as the error says it, and a value of another JSON type. */
const KINDS = {
  string: ["a string", 1],
  number: ["a number", "1"],
  boolean: ["a boolean", "true"],
  strings: ["an array of strings", ["a", 1]],
  stringOrStrings: ["a string or an array of strings", 1],
  object: ["an object", []],
  array: ["an array", {}],
} as const;
type Kind = keyof typeof KINDS;
const SIG = `${C}.image_signatures.0`;
/** Every documented claim by its path in the payload (for set/del), with its kind. */
const DOCUMENTED: [path: string, kind: Kind][] = [
  ["iss", "string"],
  ["aud", "stringOrStrings"],
  ["sub", "string"],
  ["exp", "number"],
  ["iat", "number"],
  ["nbf", "number"],
  ["jti", "string"],
  ["eat_nonce", "stringOrStrings"],
  ["eat_profile", "string"],
  ["hwmodel", "string"],
  ["swname", "string"],
  ["swversion", "strings"],
  ["dbgstat", "string"],
  ["secboot", "boolean"],
  ["oemid", "number"],
  ["google_service_accounts", "strings"],
  ["submods", "object"],
  [C, "object"],
  [`${C}.image_reference`, "string"],
  [`${C}.image_digest`, "string"],
  [`${C}.restart_policy`, "string"],
  [`${C}.image_id`, "string"],
  [`${C}.env`, "object"],
  [`${C}.env_override`, "object"],
  [`${C}.cmd_override`, "strings"],
  [`${C}.args`, "strings"],
  [`${C}.image_signatures`, "array"],
  [SIG, "object"],
  [`${SIG}.key_id`, "string"],
  [`${SIG}.signature`, "string"],
  [`${SIG}.signature_algorithm`, "string"],
  ["submods.gce", "object"],
  ["submods.gce.zone", "string"],
  ["submods.gce.project_id", "string"],
  ["submods.gce.project_number", "string"],
  ["submods.gce.instance_name", "string"],
  ["submods.gce.instance_id", "string"],
  ["submods.confidential_space", "object"],
  ["submods.confidential_space.support_attributes", "strings"],
  ["submods.confidential_space.monitoring_enabled", "object"],
  ["submods.confidential_space.monitoring_enabled.memory", "boolean"],
];
/** Errors name an image signature's members without the array index. */
const named = (path: string) => path.replace(".image_signatures.0", ".image_signatures");
const REQUIRED = ["iss", "aud", "sub", "exp", "iat", "nbf", "hwmodel", "swname", "swversion", "dbgstat", "secboot"];

describe("checkClaimTypes, claim by claim", () => {
  it.each(DOCUMENTED)("refuses %s of another type (%s), naming it and its type", (path, kind) => {
    const [what, wrong] = KINDS[kind];
    const error = failure(set(path, structuredClone(wrong)));
    expect(error).toBeInstanceOf(AttestationPolicyError);
    expect(error).toMatchObject({ check: "claim_type", claim: named(path) });
    expect(error?.message).toBe(`"${named(path)}" must be ${what}`);
  });

  it.each([...REQUIRED, `${SIG}.key_id`, `${SIG}.signature`, `${SIG}.signature_algorithm`])(
    "refuses a token without %s",
    (path) => {
      const error = failure(del(path));
      expect(error).toMatchObject({ check: "missing_claim", claim: named(path) });
      expect(error?.message).toMatch(`the token has no "${named(path)}" claim`);
    },
  );

  it.each(DOCUMENTED.filter(([path]) => !REQUIRED.includes(path) && !path.startsWith(SIG) && path !== "submods"))(
    "accepts a token without %s",
    (path) => {
      expect(failure(del(path))).toBeUndefined();
    },
  );

  it("refuses a number that JSON.parse read as Infinity", () => {
    expect(failure(set("exp", JSON.parse("1e999")))).toMatchObject({ check: "claim_type", claim: "exp" });
  });

  it("refuses a payload that is not an object", () => {
    expect(() => checkClaimTypes([] as never)).toThrow(AttestationPolicyError);
  });
});
