import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../test/harness.js";
import { VaultError, type VaultJwtClient } from "./index.js";

let h: Harness;
let client: VaultJwtClient;
beforeAll(async () => {
  h = await startHarness();
  client = h.client();
});
afterAll(async () => {
  await h?.stop();
});

describe("KV v2", () => {
  it("writes versions and reads the latest or a given one", async () => {
    const kv = client.kv();
    expect((await kv.write("app/db", { password: "one" })).version).toBe(1);
    const second = await kv.write("app/db", { password: "two" });
    expect(second).toMatchObject({ version: 2, destroyed: false, deletionTime: undefined });
    expect(await kv.read("app/db")).toMatchObject({ data: { password: "two" }, metadata: { version: 2 } });
    expect(await kv.read("app/db", { version: 1 })).toMatchObject({
      data: { password: "one" },
      metadata: { version: 1 },
    });
    expect(await kv.read("app/db", { version: 9 })).toBeUndefined();
    expect(await kv.read("app/absent")).toBeUndefined();
  });

  it("enforces check-and-set", async () => {
    const kv = client.kv();
    await kv.write("app/cas", { v: 1 }, { cas: 0 });
    await expect(kv.write("app/cas", { v: 2 }, { cas: 0 })).rejects.toMatchObject({
      status: 400,
      errors: ["check-and-set parameter did not match the current version"],
    });
    expect((await kv.write("app/cas", { v: 2 }, { cas: 1 })).version).toBe(2);
  });

  it("returns the deletion metadata of a soft-deleted version (Vault's 404 with data) and restores it", async () => {
    const kv = client.kv();
    await kv.write("app/gone", { k: "v1" });
    await kv.write("app/gone", { k: "v2" });
    await kv.delete("app/gone");
    const deleted = await kv.read("app/gone");
    expect(deleted?.data).toBeNull();
    expect(deleted?.metadata.version).toBe(2);
    expect(deleted?.metadata.deletionTime).toBeInstanceOf(Date);
    expect((await kv.read("app/gone", { version: 1 }))?.data).toEqual({ k: "v1" });
    await kv.undelete("app/gone", [2]);
    expect((await kv.read("app/gone"))?.data).toEqual({ k: "v2" });
    await kv.destroy("app/gone", [2]);
    expect(await kv.read("app/gone")).toMatchObject({ data: null, metadata: { destroyed: true, version: 2 } });
    const metadata = await kv.readMetadata("app/gone");
    // OpenBao reports oldest_version 0 until max_versions has pruned a version.
    expect(metadata).toMatchObject({ currentVersion: 2, oldestVersion: 0 });
    expect(metadata?.versions["2"]?.destroyed).toBe(true);
    await kv.delete("app/gone", { versions: [1] });
    expect((await kv.read("app/gone", { version: 1 }))?.metadata.deletionTime).toBeInstanceOf(Date);
    expect(await kv.readMetadata("app/never")).toBeUndefined();
  });

  it("throws a typed 403 for a path the policy does not grant", async () => {
    const error = await client
      .kv()
      .write("forbidden/x", { a: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({
      status: 403,
      errors: ["1 error occurred:\n\t* permission denied\n\n"],
      method: "POST",
      path: "secret/data/forbidden/x",
    });
  });

  it("encodes path segments", async () => {
    await client.kv().write("app/with space", { ok: true });
    expect((await client.kv().read("app/with space"))?.data).toEqual({ ok: true });
    expect(h.proxy.requests.some((r) => r.path === "/v1/secret/data/app/with%20space")).toBe(true);
  });
});

describe("transit", () => {
  it("round-trips text and bytes, base64 handled for the caller", async () => {
    const transit = client.transit();
    const ciphertext = await transit.encrypt("app-key", "attack at dawn");
    expect(ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    expect((await transit.decrypt("app-key", ciphertext)).toString("utf8")).toBe("attack at dawn");
    const bytes = randomBytes(48);
    expect(await transit.decrypt("app-key", await transit.encrypt("app-key", bytes))).toEqual(bytes);
    expect((await transit.decrypt("app-key", await transit.encrypt("app-key", ""))).length).toBe(0);
  });

  it("binds associated data", async () => {
    const transit = client.transit();
    const ciphertext = await transit.encrypt("app-key", "x", { associatedData: "record-7" });
    expect((await transit.decrypt("app-key", ciphertext, { associatedData: "record-7" })).toString()).toBe("x");
    await expect(transit.decrypt("app-key", ciphertext, { associatedData: "record-8" })).rejects.toMatchObject({
      status: 400,
      errors: ["cipher: message authentication failed"],
    });
  });

  it("decrypts v1 ciphertexts after rotation, encrypts with v2 and rewraps v1 to v2", async () => {
    const transit = client.transit();
    const v1 = await transit.encrypt("app-key", "before rotation");
    await h.bao.request({ method: "POST", path: "transit/keys/app-key/rotate" });
    const v2 = await transit.encrypt("app-key", "after rotation");
    expect(v2.startsWith("vault:v2:")).toBe(true);
    expect((await transit.decrypt("app-key", v1)).toString()).toBe("before rotation");
    const rewrapped = await transit.rewrap("app-key", v1);
    expect(rewrapped.startsWith("vault:v2:")).toBe(true);
    expect((await transit.decrypt("app-key", rewrapped)).toString()).toBe("before rotation");
  });

  it("unwraps a wrapped data key to the same bytes Vault generated", async () => {
    const transit = client.transit();
    const withPlain = await transit.generateDataKey("app-key", { plaintext: true });
    expect(withPlain.plaintext).toHaveLength(32);
    expect(await transit.decrypt("app-key", withPlain.ciphertext)).toEqual(withPlain.plaintext);
    const wrapped = await transit.generateDataKey("app-key", { bits: 128 });
    expect(wrapped.plaintext).toBeUndefined();
    expect(await transit.decrypt("app-key", wrapped.ciphertext)).toHaveLength(16);
  });

  it("rejects tampered ciphertexts with Vault's texts", async () => {
    const transit = client.transit();
    const good = await transit.encrypt("app-key", "x");
    const cases: Array<[string, string]> = [
      [good.replace(/^vault:/, ""), "invalid ciphertext: no prefix"],
      ["vault:v99:AAAA", "invalid ciphertext: version is too new"],
      ["vault:vX:AAAA", "invalid ciphertext: version number could not be decoded"],
      [`${good.slice(0, -4)}AAA=`, "cipher: message authentication failed"],
    ];
    for (const [ciphertext, text] of cases) {
      await expect(transit.decrypt("app-key", ciphertext)).rejects.toMatchObject({ status: 400, errors: [text] });
    }
  });
});
