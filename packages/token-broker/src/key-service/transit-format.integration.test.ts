// The ciphertext format against real OpenBao's transit engine: with an exported aes256-gcm96
// key, our code opens what OpenBao encrypted and OpenBao decrypts what our code sealed —
// `vault:v<N>:base64(nonce 12 ‖ ciphertext ‖ tag 16)` exactly.
import { randomBytes } from "node:crypto";
import { type OpenBao, startOpenBao } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAes256Gcm96, parseCiphertext, sealAes256Gcm96 } from "./keyring.js";

let bao: OpenBao;
let key: Buffer;

// biome-ignore lint/suspicious/noExplicitAny: JSON replies are probed field by field.
const data = (body: Record<string, unknown> | undefined): any => body?.data;

beforeAll(async () => {
  bao = await startOpenBao();
  const created = await bao.request({
    method: "POST",
    path: "transit/keys/format-check",
    body: { type: "aes256-gcm96", exportable: true },
  });
  expect(created.status).toBeLessThan(300);
  const exported = await bao.request({ method: "GET", path: "transit/export/encryption-key/format-check/1" });
  expect(exported.status).toBe(200);
  key = Buffer.from(data(exported.body).keys["1"], "base64");
  expect(key).toHaveLength(32);
}, 60_000);

afterAll(async () => {
  await bao?.stop();
});

describe("the transit ciphertext format, checked against OpenBao", () => {
  it("opens a ciphertext OpenBao's transit encrypted", async () => {
    const plaintext = randomBytes(61);
    const encrypted = await bao.request({
      method: "POST",
      path: "transit/encrypt/format-check",
      body: { plaintext: plaintext.toString("base64") },
    });
    const ciphertext = data(encrypted.body).ciphertext as string;
    const { version, payload } = parseCiphertext(ciphertext);
    expect(version).toBe(1);
    expect(payload).toHaveLength(12 + 61 + 16);
    expect(openAes256Gcm96(key, payload).equals(plaintext)).toBe(true);
  });

  it("writes a ciphertext OpenBao's transit decrypts", async () => {
    const plaintext = randomBytes(45);
    const ciphertext = sealAes256Gcm96(key, 1, plaintext);
    const decrypted = await bao.request({ method: "POST", path: "transit/decrypt/format-check", body: { ciphertext } });
    expect(decrypted.status).toBe(200);
    expect(Buffer.from(data(decrypted.body).plaintext, "base64").equals(plaintext)).toBe(true);
  });

  it("is refused by OpenBao when our tag is flipped, as ours refuses it", async () => {
    const { payload } = parseCiphertext(sealAes256Gcm96(key, 1, Buffer.from("x")));
    payload[payload.length - 1]! ^= 1;
    const tampered = `vault:v1:${payload.toString("base64")}`;
    const refused = await bao.request({
      method: "POST",
      path: "transit/decrypt/format-check",
      body: { ciphertext: tampered },
      accept: [400],
    });
    expect(refused.status).toBe(400);
    expect(() => openAes256Gcm96(key, payload)).toThrow(/message authentication failed/);
  });
});
