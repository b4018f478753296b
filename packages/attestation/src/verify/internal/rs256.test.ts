import { createSign, generateKeyPairSync } from "node:crypto";
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
