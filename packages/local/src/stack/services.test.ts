import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { LOCAL_SERVICES, parseServices } from "./services.js";

describe("parseServices", () => {
  it("reads a comma-separated list or an array, in the given order", () => {
    expect(parseServices("gcp, aws")).toEqual(["gcp", "aws"]);
    expect(parseServices(["vault"])).toEqual(["vault"]);
  });

  it('expands "all" to every service', () => {
    expect(parseServices("all")).toEqual([...LOCAL_SERVICES]);
  });

  it.each([
    ["", /at least one/],
    ["aws,", /at least one/],
    ["azure,gcp,azure", /azure is listed twice/],
    ["AWS", /unknown service "AWS"/],
    ["aws,all", /unknown service "all"/],
    ["s3", /unknown service "s3"/],
  ])("refuses %j naming the option", (value, message) => {
    const error = (() => {
      try {
        parseServices(value, "--services");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe("--services");
    expect((error as Error).message).toMatch(message);
  });

  it("refuses an empty array", () => {
    expect(() => parseServices([])).toThrow(/services must list at least one/);
  });
});
