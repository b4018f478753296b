import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { imageSignatureAlgorithm, keyIdFromPublicKey } from "./key-id.js";

/** What Google's key ID is, computed by openssl instead of node: sha256 of the DER SubjectPublicKeyInfo. */
function opensslKeyId(pem: string): string {
  const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "DER"], { input: pem });
  return execFileSync("openssl", ["dgst", "-sha256", "-r"], { input: der }).toString().split(" ")[0]!;
}

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
/** What `run` throws (the test fails if it throws nothing). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return expect.unreachable("nothing was thrown");
}

const pem = (key: typeof ec.publicKey) => key.export({ type: "spki", format: "pem" }).toString();

describe("keyIdFromPublicKey", () => {
  it("equals openssl's SHA-256 of the DER public key, for P-256 and RSA keys", () => {
    for (const key of [ec.publicKey, rsa.publicKey]) {
      const id = keyIdFromPublicKey(pem(key));
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(id).toBe(opensslKeyId(pem(key)));
      expect(keyIdFromPublicKey(key)).toBe(id);
    }
  });

  it("matches the key ID of a published Confidential Space token for its published key", () => {
    // From a public write-up of a real token (salrashid123/confidential_space): the token's
    // image_signatures[0].key_id and the cosign public key that signed the image.
    const published = [
      "-----BEGIN PUBLIC KEY-----",
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnJkxPkNBdsTfuQnZJAmE6tVEosTG",
      "YemTaQl+60OLRsymUD8GfTCogGrgRHmNTaIiVzkPbWYB3iK27MuYkAGyMQ==",
      "-----END PUBLIC KEY-----",
    ].join("\n");
    expect(keyIdFromPublicKey(published)).toBe("fc3cd070b22b02942d8216257f6c917d122eb2d6691027b3e8160306a4c71072");
  });

  it("refuses a public key PEM that carries a private key too, and non-strings, by their messages", () => {
    const both = `${pem(ec.publicKey)}${ec.privateKey.export({ type: "pkcs8", format: "pem" })}`;
    expect(() => keyIdFromPublicKey(both)).toThrow(/never a private key/);
    expect(() => keyIdFromPublicKey(42 as unknown as string)).toThrow(/never a private key/);
    expect(() => keyIdFromPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")).toThrow(
      /not a readable PEM public key/,
    );
  });

  it("refuses private keys and anything that is not a PEM public key", () => {
    const privatePem = ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    for (const input of [
      privatePem,
      ec.privateKey,
      "not a key",
      `-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----`,
    ]) {
      expect(() => keyIdFromPublicKey(input as string)).toThrow(InvalidOptionError);
      expect(thrown(() => keyIdFromPublicKey(input as string))).toMatchObject({ option: "publicKey" });
    }
    try {
      keyIdFromPublicKey(privatePem);
    } catch (error) {
      expect((error as Error).message).not.toContain(privatePem.split("\n")[1]);
    }
  });
});

describe("imageSignatureAlgorithm", () => {
  it("names the algorithms as the launcher does", () => {
    expect(imageSignatureAlgorithm(pem(ec.publicKey))).toBe("ECDSA_P256_SHA256");
    expect(imageSignatureAlgorithm(rsa.publicKey)).toBe("RSASSA_PKCS1V15_SHA256");
    expect(imageSignatureAlgorithm(rsa.publicKey, "pss")).toBe("RSASSA_PSS_SHA256");
    const pss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 });
    expect(imageSignatureAlgorithm(pss.publicKey)).toBe("RSASSA_PSS_SHA256");
  });

  it("takes 3072- and 4096-bit RSA keys, and refuses a 2048-bit DSA key", () => {
    for (const modulusLength of [3072, 4096]) {
      expect(imageSignatureAlgorithm(generateKeyPairSync("rsa", { modulusLength }).publicKey)).toBe(
        "RSASSA_PKCS1V15_SHA256",
      );
    }
    const dsa = generateKeyPairSync("dsa", { modulusLength: 2048, divisorLength: 256 }).publicKey;
    expect(thrown(() => imageSignatureAlgorithm(dsa))).toMatchObject({
      option: "publicKey",
      code: "ERR_INVALID_OPTION",
    });
  });

  it("refuses keys Confidential Space does not verify", () => {
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey;
    const ed = generateKeyPairSync("ed25519").publicKey;
    const small = createPublicKey(
      generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }),
    );
    for (const key of [p384, ed, small]) expect(() => imageSignatureAlgorithm(key)).toThrow(/P-256/);
  });
});
