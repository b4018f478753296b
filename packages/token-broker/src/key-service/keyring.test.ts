import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DERIVATION_SALT, derivationInfo, deriveKey, Keyring, KeyringError } from "./keyring.js";

const run = promisify(execFile);
const ROOT = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

/** HKDF-SHA256 by the openssl CLI: an implementation independent of node:crypto's hkdfSync API. */
async function opensslHkdf(root: Buffer, info: Buffer): Promise<string> {
  const { stdout } = await run("/usr/bin/openssl", [
    "kdf",
    "-keylen",
    "32",
    "-kdfopt",
    "digest:SHA256",
    "-kdfopt",
    `hexkey:${root.toString("hex")}`,
    "-kdfopt",
    `hexsalt:${Buffer.from(DERIVATION_SALT).toString("hex")}`,
    "-kdfopt",
    `hexinfo:${info.toString("hex")}`,
    "HKDF",
  ]);
  return stdout.trim().replace(/:/g, "").toLowerCase();
}

const roots = (...versions: number[]) =>
  new Map(
    versions.map((version) => [version, Buffer.from(Array.from({ length: 32 }, (_, i) => (version * 31 + i) & 0xff))]),
  );

describe("key derivation", () => {
  it("derives the pinned vector for a fixed root (HKDF-SHA256, salt confspace-key-service)", () => {
    // Computed once with `openssl kdf … HKDF` (see the next test, which recomputes it).
    expect(deriveKey(ROOT, "openbao", "openbao-unseal", 1).toString("hex")).toBe(
      "e4575d1647d2ad2362709b974247ae062d7c388e5f80359ba3d00e05cf73d82c",
    );
  });

  it.each([
    ["openbao", "openbao-unseal", 1],
    ["app.prod", "state", 7],
    ["a", "b", 123456],
  ])("matches openssl's HKDF for grant %s, key %s, version %i", async (grant, key, version) => {
    const expected = await opensslHkdf(ROOT, derivationInfo(grant, key, version));
    expect(deriveKey(ROOT, grant, key, version).toString("hex")).toBe(expected);
  });

  it("gives every grant, key and version its own key", () => {
    const keys = new Set(
      [
        deriveKey(ROOT, "a", "k", 1),
        deriveKey(ROOT, "b", "k", 1),
        deriveKey(ROOT, "a", "j", 1),
        deriveKey(ROOT, "a", "k", 2),
        // Not confusable by moving the separator.
        deriveKey(ROOT, "a\0k", "", 1),
      ].map((key) => key.toString("hex")),
    );
    expect(keys.size).toBe(5);
  });
});

describe("Keyring", () => {
  it("encrypts to vault:v<N>:base64(nonce 12 || ciphertext || tag 16), which WebCrypto AES-GCM decrypts", async () => {
    const keyring = new Keyring(new Map([[1, Buffer.from(ROOT)]]));
    const plaintext = Buffer.from("the unseal key of OpenBao");
    const { ciphertext, version } = keyring.encrypt("openbao", "openbao-unseal", plaintext);
    expect(version).toBe(1);
    expect(ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+={0,2}$/);
    const body = Buffer.from(ciphertext.split(":")[2]!, "base64");
    expect(body.length).toBe(12 + plaintext.length + 16);
    const key = await crypto.subtle.importKey(
      "raw",
      deriveKey(ROOT, "openbao", "openbao-unseal", 1),
      "AES-GCM",
      false,
      ["decrypt"],
    );
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: body.subarray(0, 12), tagLength: 128 },
      key,
      body.subarray(12),
    );
    expect(Buffer.from(opened).toString()).toBe("the unseal key of OpenBao");
  });

  it("uses a fresh nonce for every encryption", () => {
    const keyring = new Keyring(roots(1));
    const a = keyring.encrypt("g", "k", Buffer.from("same"));
    const b = keyring.encrypt("g", "k", Buffer.from("same"));
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it("round-trips empty and large plaintexts", () => {
    const keyring = new Keyring(roots(1));
    for (const size of [0, 1, 32, 65_536]) {
      const plaintext = Buffer.alloc(size, 7);
      expect(keyring.decrypt("g", "k", keyring.encrypt("g", "k", plaintext).ciphertext).equals(plaintext)).toBe(true);
    }
  });

  it("encrypts with the newest root after a rotation and still decrypts the older versions", () => {
    const old = new Keyring(roots(1));
    const v1 = old.encrypt("g", "k", Buffer.from("one")).ciphertext;
    const rotated = new Keyring(roots(1, 2));
    const v2 = rotated.encrypt("g", "k", Buffer.from("two"));
    expect(v2.version).toBe(2);
    expect(v2.ciphertext.startsWith("vault:v2:")).toBe(true);
    expect(rotated.decrypt("g", "k", v1).toString()).toBe("one");
    expect(rotated.decrypt("g", "k", v2.ciphertext).toString()).toBe("two");
    expect(rotated.encrypt("g", "k", Buffer.from("x"), 1).ciphertext.startsWith("vault:v1:")).toBe(true);
  });

  it("refuses versions below the key's minDecryptionVersion, for that key only", () => {
    const keyring = new Keyring(roots(1, 2), { k: { minDecryptionVersion: 2 } });
    const v1 = new Keyring(roots(1)).encrypt("g", "k", Buffer.from("one")).ciphertext;
    const other = new Keyring(roots(1)).encrypt("g", "j", Buffer.from("one")).ciphertext;
    expect(() => keyring.decrypt("g", "k", v1)).toThrow(/disallowed by policy \(too old/);
    expect(() => keyring.encrypt("g", "k", Buffer.from("x"), 1)).toThrow(/disallowed by policy/);
    expect(keyring.decrypt("g", "j", other).toString()).toBe("one");
    expect(keyring.versions("k")).toEqual([2]);
    expect(keyring.versions("j")).toEqual([1, 2]);
  });

  it("refuses a version whose root is not configured", () => {
    const v3 = new Keyring(roots(1, 3)).encrypt("g", "k", Buffer.from("x")).ciphertext;
    expect(() => new Keyring(roots(1, 2)).decrypt("g", "k", v3)).toThrow(/key version: 3 does not exist/);
    expect(() => new Keyring(roots(1)).encrypt("g", "k", Buffer.from("x"), 2)).toThrow(/does not exist/);
  });

  it("does not decrypt another grant's or another key's ciphertext", () => {
    const keyring = new Keyring(roots(1));
    const ciphertext = keyring.encrypt("a", "k", Buffer.from("secret")).ciphertext;
    expect(() => keyring.decrypt("b", "k", ciphertext)).toThrow(/message authentication failed/);
    expect(() => keyring.decrypt("a", "j", ciphertext)).toThrow(/message authentication failed/);
  });

  it("does not decrypt with another root of the same version (another broker)", () => {
    const ciphertext = new Keyring(roots(1)).encrypt("a", "k", Buffer.from("secret")).ciphertext;
    const other = new Keyring(new Map([[1, Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff))]]));
    expect(() => other.decrypt("a", "k", ciphertext)).toThrow(KeyringError);
  });

  const good = new Keyring(roots(1)).encrypt("g", "k", Buffer.from("payload")).ciphertext;
  const [, , payload] = good.split(":") as [string, string, string];
  const bytes = Buffer.from(payload, "base64");
  const flip = (index: number) => {
    const copy = Buffer.from(bytes);
    copy[index]! ^= 1;
    return `vault:v1:${copy.toString("base64")}`;
  };
  it.each([
    ["no prefix", payload, /expected "vault:v<version>:<base64>"/],
    ["another prefix", `bao:v1:${payload}`, /expected "vault/],
    ["version 0", `vault:v0:${payload}`, /expected "vault/],
    ["leading zero", `vault:v01:${payload}`, /expected "vault/],
    ["no version number", `vault:vx:${payload}`, /expected "vault/],
    ["four fields", `vault:v1:${payload}:x`, /expected "vault/],
    ["not base64", "vault:v1:@@@@", /expected "vault/],
    ["non-canonical base64 (no padding)", `vault:v1:${payload.replace(/=+$/, "")}`, /canonical|expected/],
    ["too short", `vault:v1:${bytes.subarray(0, 27).toString("base64")}`, /too short/],
    ["a flipped nonce bit", flip(0), /message authentication failed/],
    ["a flipped ciphertext bit", flip(13), /message authentication failed/],
    ["a flipped tag bit", flip(bytes.length - 1), /message authentication failed/],
    [
      "a truncated tag",
      `vault:v1:${bytes.subarray(0, bytes.length - 1).toString("base64")}`,
      /message authentication failed/,
    ],
    ["an unknown version", `vault:v9:${payload}`, /does not exist/],
  ])("refuses a ciphertext with %s", (_, ciphertext, message) => {
    const keyring = new Keyring(roots(1));
    expect(() => keyring.decrypt("g", "k", ciphertext)).toThrow(message);
  });

  it("never puts key material or plaintext in an error message", () => {
    const root = Buffer.from(ROOT);
    const keyring = new Keyring(new Map([[1, root]]));
    const ciphertext = keyring.encrypt("g", "k", Buffer.from("TOP-SECRET-PLAINTEXT")).ciphertext;
    const messages: string[] = [];
    for (const attempt of [
      () => keyring.decrypt("h", "k", ciphertext),
      () => keyring.decrypt("g", "k", `${ciphertext}x`),
    ]) {
      try {
        attempt();
      } catch (error) {
        messages.push((error as Error).message);
      }
    }
    const derived = deriveKey(ROOT, "g", "k", 1);
    for (const message of messages) {
      expect(message).not.toContain("TOP-SECRET");
      for (const secret of [root, derived]) {
        expect(message).not.toContain(secret.toString("hex"));
        expect(message).not.toContain(secret.toString("base64"));
      }
    }
    expect(messages).toHaveLength(2);
  });

  it("zeroes its roots on dispose and is unusable afterwards", () => {
    const root = Buffer.from(ROOT);
    const keyring = new Keyring(new Map([[1, root]]));
    keyring.encrypt("g", "k", Buffer.from("x"));
    keyring.dispose();
    expect(root.every((byte) => byte === 0)).toBe(true);
    expect(() => keyring.encrypt("g", "k", Buffer.from("x"))).toThrow(KeyringError);
  });
});
