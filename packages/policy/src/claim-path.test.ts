import { describe, expect, it } from "vitest";
import { claimAt, lookupClaim } from "./claim-path.js";

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
});
