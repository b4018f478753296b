import { describe, expect, it } from "vitest";
import { ConfspaceError, InvalidOptionError, TokenUnavailableError } from "./errors.js";

const BRAND = Symbol.for("@confspace/core/error");

describe("InvalidOptionError", () => {
  it.each([
    [undefined, []],
    ["CONFSPACE_BROKER_URL", ["CONFSPACE_BROKER_URL"]],
    [
      ["CONFSPACE_A", "CONFSPACE_B"],
      ["CONFSPACE_A", "CONFSPACE_B"],
    ],
    [[], []],
  ])("names the option and lists env vars %j as %j", (envVars, expected) => {
    const error = new InvalidOptionError("brokerUrl", "brokerUrl must be https.", envVars);
    expect(error).toMatchObject({
      code: "ERR_INVALID_OPTION",
      option: "brokerUrl",
      message: "brokerUrl must be https.",
    });
    expect(error.envVars).toEqual(expected);
    expect(error.envVar).toBe(expected[0]);
    expect(error.name).toBe("InvalidOptionError");
  });

  it("copies the env var list, so the caller's array can change afterwards", () => {
    const list = ["CONFSPACE_A"];
    const error = new InvalidOptionError("a", "bad", list);
    list.push("CONFSPACE_B");
    expect(error.envVars).toEqual(["CONFSPACE_A"]);
  });
});

describe("ConfspaceError details", () => {
  it("has no cause property at all when none is given", () => {
    expect("cause" in new ConfspaceError("ERR_X", "x")).toBe(false);
    expect("cause" in new ConfspaceError("ERR_X", "x", {})).toBe(false);
    expect(new ConfspaceError("ERR_X", "x", { cause: 0 }).cause).toBe(0);
  });

  it("brands an error with its class names up to ConfspaceError, not enumerable", () => {
    const error = new TokenUnavailableError("later", { retryAfterMs: 5 });
    expect((error as unknown as Record<symbol, unknown>)[BRAND]).toEqual(["TokenUnavailableError", "ConfspaceError"]);
    expect(Object.getOwnPropertyDescriptor(error, BRAND)?.enumerable).toBe(false);
    expect(error).toMatchObject({ code: "ERR_TOKEN_UNAVAILABLE", retryAfterMs: 5, message: "later" });
  });

  it("answers instanceof for an unbranded object on its prototype chain, and false for null and undefined", () => {
    expect(Object.create(ConfspaceError.prototype) instanceof ConfspaceError).toBe(true);
    expect((null as unknown) instanceof ConfspaceError).toBe(false);
    expect((undefined as unknown) instanceof ConfspaceError).toBe(false);
    expect({ [BRAND]: "ConfspaceError" } instanceof ConfspaceError).toBe(false); // a brand must be a list
  });
});
