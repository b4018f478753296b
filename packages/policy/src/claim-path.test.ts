import { describe, expect, it } from "vitest";
import { CLAIM_PATH, claimAt, lookupClaim } from "./claim-path.js";

describe("claimAt / lookupClaim", () => {
  it("walks own properties only, never arrays or the prototype chain", () => {
    expect(claimAt({ a: { b: 1 } }, "a.b")).toBe(1);
    expect(claimAt({ a: {} }, "a.toString")).toBeUndefined();
    expect(claimAt({ a: [1] }, "a.0")).toBeUndefined();
    expect(claimAt({ a: { b: 1 } }, "a.c.d")).toBeUndefined();
  });

  it("says where a walk hit a non-object", () => {
    expect(lookupClaim({ a: "text" }, "a.b.c")).toEqual({ value: undefined, blockedAt: "a" });
    expect(lookupClaim("text", "a")).toEqual({ value: undefined, blockedAt: "" });
    expect(lookupClaim({ a: { b: null } }, "a.b.c")).toEqual({ value: undefined, blockedAt: "a.b" });
    expect(lookupClaim({ a: { b: null } }, "a.b")).toEqual({ value: null });
    expect(lookupClaim({ a: { b: 1 } }, "a.c.d")).toStrictEqual({ value: undefined });
    expect(lookupClaim({ a: [1] }, "a.0")).toStrictEqual({ value: undefined, blockedAt: "a" });
  });

  it("CLAIM_PATH takes dotted names of letters, digits, _ and -, nothing else", () => {
    for (const path of ["swname", "submods.container.image_digest", "a-b.c_d.e1"])
      expect(CLAIM_PATH.test(path)).toBe(true);
    for (const path of ["", ".a", "a.", "a..b", "a b", "a.b!", "!a.b", "a.b c", "a/b"])
      expect(CLAIM_PATH.test(path)).toBe(false);
  });
});
