import { createSecretKey, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AttestationPolicyError } from "../errors.js";
import { verifyRs256 } from "./rs256.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function sign(privateKey: Parameters<ReturnType<typeof createSign>["sign"]>[0], payload = b64({ sub: "x" })) {
  const input = `${b64({ alg: "RS256", kid: "k" })}.${payload}`;
  return `${input}.${createSign("sha256").update(input).sign(privateKey, "base64url")}`;
}

const rsa2048 = generateKeyPairSync("rsa", { modulusLength: 2048 });

function check(token: string, key = rsa2048.publicKey) {
  try {
    verifyRs256(token, key);
    return "ok";
  } catch (error) {
    return error instanceof AttestationPolicyError ? error.check : "other";
  }
}

function message(token: string, key = rsa2048.publicKey): string {
  try {
    verifyRs256(token, key);
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationPolicyError);
    return (error as Error).message;
  }
  return expect.unreachable("the token should have been refused");
}

const WEAK_KEY = "the signing key is not an RSA public key of at least 2048 bits";

describe("verifyRs256", () => {
  it("returns the payload of a token signed by the key", () => {
    expect(verifyRs256(sign(rsa2048.privateKey), rsa2048.publicKey)).toEqual({ sub: "x" });
  });

  it.each([
    ["a tampered payload", (t: string) => t.replace(/\.[^.]+\./, `.${b64({ sub: "y" })}.`), "signature"],
    ["a truncated signature", (t: string) => t.slice(0, -4), "signature"],
    ["an empty signature", (t: string) => t.slice(0, t.lastIndexOf(".") + 1), "signature"],
  ])("rejects %s", (_name, mutate, expected) => {
    expect(check(mutate(sign(rsa2048.privateKey)))).toBe(expected);
  });

  it("rejects another RSA key, an RSA key under 2048 bits, and a non-RSA key", () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(check(sign(rsa2048.privateKey), other.publicKey)).toBe("signature");
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(check(sign(small.privateKey), small.publicKey)).toBe("signature");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(check(sign(rsa2048.privateKey), ec.publicKey)).toBe("signature");
  });

  it("rejects a validly signed payload that is not a JSON object", () => {
    expect(check(sign(rsa2048.privateKey, Buffer.from("[1,2]").toString("base64url")))).toBe("format");
    expect(check(sign(rsa2048.privateKey, Buffer.from([0xff, 0xfe]).toString("base64url")))).toBe("format");
  });
});

describe("verifyRs256, message by message", () => {
  it("says a bad signature does not verify", () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(message(sign(other.privateKey))).toBe("the token's signature does not verify");
  });

  it.each([
    ["an RSA key under 2048 bits", () => generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey],
    ["an RSA-PSS key", () => generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).publicKey],
    ["an RSA private key", () => rsa2048.privateKey],
    ["a secret key", () => createSecretKey(randomBytes(32))],
    ["an EC key", () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey],
  ])("refuses %s as the signing key", (_name, key) => {
    expect(message(sign(rsa2048.privateKey), key())).toBe(WEAK_KEY);
  });

  it("refuses a key on every use, not only the first", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(message(sign(small.privateKey), small.publicKey)).toBe(WEAK_KEY);
    expect(message(sign(small.privateKey), small.publicKey)).toBe(WEAK_KEY);
  });

  it.each([
    ["a JSON array", Buffer.from("[1,2]"), "the token's payload is not a JSON object"],
    ["JSON null", Buffer.from("null"), "the token's payload is not a JSON object"],
    ["a JSON string", Buffer.from('"x"'), "the token's payload is not a JSON object"],
    ["no JSON", Buffer.from("{sub"), "the token's payload is not base64url JSON"],
    // Decoded leniently, these bytes would be the JSON object {"sub":"\ufffd"}.
    [
      "invalid UTF-8 inside a JSON string",
      Buffer.from([...Buffer.from('{"sub":"'), 0xff, ...Buffer.from('"}')]),
      "the token's payload is not base64url JSON",
    ],
  ])("refuses a validly signed payload that is %s", (_name, bytes, expected) => {
    expect(message(sign(rsa2048.privateKey, bytes.toString("base64url")))).toBe(expected);
  });
});
