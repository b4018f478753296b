import { describe, expect, it } from "vitest";
import { claimAtPath, isShownClaim, show, shownValue } from "./claim-values.js";

const CLAIMS = {
  aud: "a",
  list: ["x", "y"],
  eleven: Array.from({ length: 11 }, (_, i) => `e${i}`),
  nested: { deep: { value: 7 }, nothing: null },
  submods: { container: { env: { KEY: "secret" }, image_signatures: [{ key_id: "k1", signature: "s" }] } },
};

describe("claimAtPath", () => {
  it.each([
    ["aud", "a"],
    ["nested.deep.value", 7],
    ["nested.nothing", null],
    ["list.1", "y"],
    ["list.0", "x"],
    ["eleven.10", "e10"],
    ["submods.container.image_signatures.0.key_id", "k1"],
  ])("reads %s", (path, value) => {
    expect(claimAtPath(CLAIMS, path)).toEqual(value);
  });

  it.each([
    ["a missing claim", "missing"],
    ["a path through a string", "aud.length"],
    ["a path through null", "nested.nothing.x"],
    ["an index with a leading zero", "list.01"],
    ["a negative index", "list.-1"],
    ["an index past the end", "list.2"],
    ["a name on an array", "list.length"],
    ["an inherited property", "nested.toString"],
  ])("is undefined for %s", (_name, path) => {
    expect(claimAtPath(CLAIMS, path)).toBeUndefined();
  });
});

describe("what an explanation may show", () => {
  it.each([
    ["eat_nonce", false],
    ["eat_nonces", true],
    ["x.eat_nonce", true],
    ["submods.container.env", false],
    ["submods.container.env.KEY", false],
    ["submods.container.args", false],
    ["submods.container.cmd_override", false],
    ["submods.container.env_override.A", false],
    ["submods.container.environment", true],
    ["submods.container.image_digest", true],
    ["a.submods.container.env", true],
  ])("%s shown: %s", (path, shown) => {
    expect(isShownClaim(path)).toBe(shown);
  });

  it("hides hidden claims and shows image signatures by key ID only", () => {
    expect(shownValue(CLAIMS, "submods.container.env.KEY")).toBeUndefined();
    expect(shownValue(CLAIMS, "submods.container.image_signatures")).toEqual([{ key_id: "k1" }]);
  });

  it("shortens long strings, long lists and nested values", () => {
    const long = "s".repeat(201);
    expect(shownValue({ v: long }, "v")).toBe(`${"s".repeat(200)}…`);
    expect(shownValue({ v: "s".repeat(200) }, "v")).toBe("s".repeat(200));
    const many = Array.from({ length: 21 }, (_, i) => String(i));
    expect(shownValue({ v: many }, "v")).toEqual([...many.slice(0, 20), "…"]);
    expect(shownValue({ v: many.slice(0, 20) }, "v")).toEqual(many.slice(0, 20));
    expect(shownValue({ v: [{ a: 1 }, [1], null, 3] }, "v")).toEqual(["<object>", "<array>", null, 3]);
    expect(shownValue({ v: { a: 1 } }, "v")).toBe("<object>");
    expect(shownValue({ v: [long] }, "v")).toEqual([`${"s".repeat(200)}…`]);
  });

  it("shows a value for a message as JSON, at most 120 characters", () => {
    expect(show(undefined)).toBe("absent");
    expect(show("x")).toBe('"x"');
    expect(show("y".repeat(118))).toBe(`"${"y".repeat(118)}"`);
    expect(show("y".repeat(119))).toBe(`"${"y".repeat(119)}…`);
  });
});
