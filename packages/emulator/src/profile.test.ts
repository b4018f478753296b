import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmulatorError } from "./errors.js";
import { DEBUG_PROFILE, DEFAULT_PROFILE, loadProfile, resolveProfile } from "./profile.js";

describe("profiles", () => {
  it("defaults to a production-like workload", () => {
    expect(DEFAULT_PROFILE).toMatchObject({
      hwmodel: "GCP_AMD_SEV",
      swname: "CONFIDENTIAL_SPACE",
      swversion: ["250301"],
      dbgstat: "disabled-since-boot",
      secboot: true,
      oemid: 11129,
      submods: {
        confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
        container: { restart_policy: "Never" },
        gce: { project_number: "123456789012", instance_id: "4567890123456789012" },
      },
    });
    expect(DEFAULT_PROFILE.google_service_accounts).toHaveLength(1);
  });

  it("has a debug profile with debugging enabled and no support attributes", () => {
    expect(DEBUG_PROFILE.dbgstat).toBe("enabled");
    expect(DEBUG_PROFILE.submods.confidential_space).not.toHaveProperty("support_attributes");
    expect(DEBUG_PROFILE.hwmodel).toBe(DEFAULT_PROFILE.hwmodel);
  });

  it("freezes the built-in profiles deeply", () => {
    expect(Object.isFrozen(DEFAULT_PROFILE.submods.gce)).toBe(true);
    expect(() => (DEFAULT_PROFILE.swversion as string[]).push("x")).toThrow(TypeError);
  });

  it("resolves names to fresh, mutable copies", () => {
    const resolved = resolveProfile("debug");
    resolved.submods.gce.zone = "europe-west4-a";
    expect(DEBUG_PROFILE.submods.gce.zone).toBe("us-central1-a");
    expect(resolveProfile(undefined)).toEqual(DEFAULT_PROFILE);
    expect(resolveProfile("default")).toEqual(DEFAULT_PROFILE);
  });

  it("deep-merges an object over the defaults: objects merge, arrays replace, null deletes", () => {
    const resolved = resolveProfile({
      swversion: ["240900"],
      submods: { gce: { project_id: "other-project" }, confidential_space: { support_attributes: null } },
      extra_claim: "kept",
    });
    expect(resolved.swversion).toEqual(["240900"]);
    expect(resolved.submods.gce.project_id).toBe("other-project");
    expect(resolved.submods.gce.zone).toBe("us-central1-a");
    expect(resolved.submods.confidential_space).not.toHaveProperty("support_attributes");
    expect(resolved.submods.confidential_space.monitoring_enabled).toEqual({ memory: false });
    expect(resolved.extra_claim).toBe("kept");
  });

  it("ignores prototype-polluting keys", () => {
    const resolved = resolveProfile(JSON.parse('{"__proto__":{"polluted":true},"submods":{"__proto__":{"x":1}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(resolved).not.toHaveProperty("polluted");
  });

  it.each(["iss", "aud", "exp", "iat", "nbf", "jti", "eat_nonce", "https://aws.amazon.com/tags"])(
    "refuses a profile that sets the per-token claim %s",
    (claim) => {
      expect(() => resolveProfile({ [claim]: "x" })).toThrow(EmulatorError);
      expect(() => resolveProfile({ [claim]: "x" })).toThrow(/minted per token/);
    },
  );

  it("refuses unknown profile names", () => {
    expect(() => resolveProfile("prod" as "default")).toThrow(
      expect.objectContaining({ code: "ERR_EMULATOR_PROFILE" }),
    );
  });
});

describe("loadProfile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "confspace-profile-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a JSON object of claims", async () => {
    const path = join(dir, "profile.json");
    await writeFile(path, JSON.stringify({ hwmodel: "GCP_INTEL_TDX", submods: { gce: { zone: "europe-west4-a" } } }));
    const profile = await loadProfile(path);
    const resolved = resolveProfile(profile);
    expect(resolved.hwmodel).toBe("GCP_INTEL_TDX");
    expect(resolved.submods.gce.zone).toBe("europe-west4-a");
    expect(resolved.submods.gce.project_id).toBe("confspace-emulator");
  });

  it.each([
    ["a missing file", undefined, /Cannot read the profile file/],
    ["invalid JSON", "{nope", /is not valid JSON/],
    ["a JSON array", "[]", /must hold a JSON object/],
    ["a per-token claim", '{"iss":"https://confidentialcomputing.googleapis.com"}', /cannot set iss/],
  ])("fails with ERR_EMULATOR_PROFILE on %s", async (_name, contents, message) => {
    const path = join(dir, "p.json");
    if (contents !== undefined) await writeFile(path, contents);
    const attempt = loadProfile(path);
    await expect(attempt).rejects.toMatchObject({ code: "ERR_EMULATOR_PROFILE" });
    await expect(attempt).rejects.toThrow(message);
  });
});
