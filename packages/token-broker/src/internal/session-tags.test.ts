import { describe, expect, it } from "vitest";
import { checkTagKey, deriveSessionTags, SessionTagError } from "./session-tags.js";

const claims = {
  hwmodel: "GCP_AMD_SEV",
  oemid: 11129,
  secboot: true,
  submods: {
    container: { image_digest: "sha256:abc", env: { NAME: "a b" } },
    confidential_space: { support_attributes: ["LATEST", "STABLE"] },
  },
  nested: { object: { a: 1 } },
};

describe("deriveSessionTags", () => {
  it("turns strings, numbers, booleans and string arrays into tag values", () => {
    expect(
      deriveSessionTags(
        {
          digest: "submods.container.image_digest",
          oem: "oemid",
          secboot: "secboot",
          support: "submods.confidential_space.support_attributes",
          name: "submods.container.env.NAME",
        },
        claims,
      ),
    ).toEqual([
      { Key: "digest", Value: "sha256:abc" },
      { Key: "oem", Value: "11129" },
      { Key: "secboot", Value: "true" },
      { Key: "support", Value: "LATEST=STABLE" },
      { Key: "name", Value: "a b" },
    ]);
  });

  it.each([
    ["a missing claim", { t: "submods.gce.project_id" }, claims],
    ["an object claim", { t: "nested.object" }, claims],
    ["a prototype property", { t: "submods.constructor" }, claims],
    ["a value over 256 characters", { t: "v" }, { v: "x".repeat(257) }],
    ["a value with a forbidden character", { t: "v" }, { v: "a;b" }],
    ["an array with a non-string", { t: "v" }, { v: ["a", 1] }],
  ])("refuses %s", (_name, spec, source) => {
    expect(() => deriveSessionTags(spec, source as Record<string, unknown>)).toThrow(SessionTagError);
  });

  it("accepts a 256-character value and letters beyond ASCII", () => {
    expect(deriveSessionTags({ t: "v" }, { v: "é".repeat(256) })).toEqual([{ Key: "t", Value: "é".repeat(256) }]);
  });

  it("never puts the value in the error message", () => {
    try {
      deriveSessionTags({ t: "v" }, { v: "secret;value" });
    } catch (error) {
      expect((error as Error).message).not.toContain("secret");
      expect(error).toMatchObject({ code: "ERR_SESSION_TAG", tag: "t", claim: "v" });
    }
  });
});

describe("checkTagKey", () => {
  it.each([
    ["ok", undefined],
    ["container.image_digest", undefined],
    ["", "1–128"],
    ["k".repeat(129), "1–128"],
    ["a#b", "only contain"],
    ["AWS:thing", "aws:"],
  ])("%s", (key, problem) => {
    const result = checkTagKey(key);
    if (problem === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(problem);
  });
});
