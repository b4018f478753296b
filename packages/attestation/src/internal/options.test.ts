import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { LauncherClient } from "../launcher-client.js";
import { nonNegativeMs, positiveNumber } from "./options.js";

describe("option checks", () => {
  it.each([
    ["a negative timeout", () => positiveNumber("timeoutMs", -1, 1), "timeoutMs"],
    ["a fractional attempt count", () => positiveNumber("retry.maxAttempts", 1.5, 3, true), "retry.maxAttempts"],
    ["an infinite skew", () => nonNegativeMs("expirySkewMs", Number.POSITIVE_INFINITY, 0), "expirySkewMs"],
    ["a LauncherClient timeout of 0", () => new LauncherClient({ timeoutMs: 0 }), "timeoutMs"],
  ])("refuse %s with InvalidOptionError naming the option", (_name, run, option) => {
    const error = (() => {
      try {
        run();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option, envVars: [] });
    expect((error as Error).message).toContain(`option ${option} must be`);
  });

  it("pass valid values and defaults through", () => {
    expect(positiveNumber("timeoutMs", undefined, 7)).toBe(7);
    expect(positiveNumber("timeoutMs", 2.5, 7)).toBe(2.5);
    expect(nonNegativeMs("expirySkewMs", 0, 5)).toBe(0);
  });
});
