import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "./errors.js";
import { optionOrEnv, requireOptionOrEnv } from "./option-or-env.js";

describe("optionOrEnv", () => {
  const env = { A: "from-a", B: "from-b", EMPTY: "" };

  it("takes the option first, then the first set variable, in order", () => {
    expect(optionOrEnv("given", ["A", "B"], env)).toEqual({ value: "given", from: "option" });
    expect(optionOrEnv(undefined, ["A", "B"], env)).toEqual({ value: "from-a", from: "A" });
    expect(optionOrEnv(undefined, ["MISSING", "B"], env)).toEqual({ value: "from-b", from: "B" });
    expect(optionOrEnv(undefined, "A", env)).toEqual({ value: "from-a", from: "A" });
  });

  it("treats empty strings as unset, in the option and in the environment", () => {
    expect(optionOrEnv("", ["EMPTY", "B"], env)).toEqual({ value: "from-b", from: "B" });
    expect(optionOrEnv(undefined, ["EMPTY"], env)).toBeUndefined();
    expect(optionOrEnv(undefined, [], env)).toBeUndefined();
  });

  it("reads process.env unless told otherwise", () => {
    process.env.CONFSPACE_CORE_OPTION_OR_ENV_TEST = "yes";
    try {
      expect(optionOrEnv(undefined, "CONFSPACE_CORE_OPTION_OR_ENV_TEST")).toEqual({
        value: "yes",
        from: "CONFSPACE_CORE_OPTION_OR_ENV_TEST",
      });
      expect(optionOrEnv(undefined, "CONFSPACE_CORE_OPTION_OR_ENV_TEST", {})).toBeUndefined();
    } finally {
      delete process.env.CONFSPACE_CORE_OPTION_OR_ENV_TEST;
    }
  });
});

describe("requireOptionOrEnv", () => {
  class BrandError extends InvalidOptionError {}

  it("returns what it found", () => {
    expect(requireOptionOrEnv("url", undefined, "A", { env: { A: "x" }, missing: "No URL" })).toEqual({
      value: "x",
      from: "A",
    });
  });

  it("throws an error naming the option and every variable", () => {
    const run = () => requireOptionOrEnv("brokerUrl", "", ["X_URL", "Y_URL"], { env: {}, missing: "No broker URL" });
    expect(run).toThrow(InvalidOptionError);
    expect(run).toThrow("No broker URL: set the brokerUrl option or X_URL or Y_URL.");
    expect(run).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION", option: "brokerUrl", envVars: ["X_URL", "Y_URL"] }),
    );
  });

  it("throws the package's subclass when given one", () => {
    expect(() =>
      requireOptionOrEnv("audience", undefined, "AUD", { env: {}, missing: "No audience", error: BrandError }),
    ).toThrow(BrandError);
  });
});
