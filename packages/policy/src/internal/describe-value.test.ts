import { describe, expect, it } from "vitest";
import { describeValue } from "./describe-value.js";

describe("describeValue", () => {
  it("keeps scalars and short lists as they are", () => {
    expect(describeValue("sha256:abc")).toBe("sha256:abc");
    expect(describeValue(250301)).toBe(250301);
    expect(describeValue(false)).toBe(false);
    expect(describeValue(null)).toBeNull();
    expect(describeValue(["a", 1, true])).toEqual(["a", 1, true]);
  });

  it("shortens a string past 200 characters and a list past 20 entries", () => {
    expect(describeValue("x".repeat(200))).toBe("x".repeat(200));
    expect(describeValue("x".repeat(201))).toBe(`${"x".repeat(200)}…`);
    const twenty = Array.from({ length: 20 }, (_, i) => `e${i}`);
    expect(describeValue(twenty)).toEqual(twenty);
    expect(describeValue([...twenty, "e20", "e21"])).toEqual([...twenty, "…"]);
    expect(describeValue(["y".repeat(300)])).toEqual([`${"y".repeat(200)}…`]);
  });

  it("shows objects, nested lists and other values by their type only", () => {
    expect(describeValue({ secret: "hunter2" })).toBe("<object>");
    expect(describeValue([{ a: 1 }, ["b"]])).toEqual(["<object>", "<array>"]);
    expect(describeValue(undefined)).toBe("<undefined>");
    expect(Object.isFrozen(describeValue(["a"]))).toBe(true);
  });
});
