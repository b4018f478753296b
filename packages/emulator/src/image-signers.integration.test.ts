import { execFileSync } from "node:child_process";
import { constants, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { startEmulator } from "./emulator.js";
import { simpleSigningPayload } from "./image-signers.js";

const builder = generateKeyPairSync("ec", { namedCurve: "P-256" });
const alice = generateKeyPairSync("rsa", { modulusLength: 2048 });
const bob = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (key: typeof builder.publicKey) => key.export({ type: "spki", format: "pem" }).toString();

/** Google's key ID computed by openssl, not by the code under test. */
function opensslKeyId(publicPem: string): string {
  const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "DER"], { input: publicPem });
  return execFileSync("openssl", ["dgst", "-sha256", "-r"], { input: der }).toString().split(" ")[0]!;
}

type Signature = { key_id: string; signature: string; signature_algorithm: string };
const signaturesOf = (claims: Record<string, unknown>) =>
  (claims.submods as { container: { image_signatures?: Signature[] } }).container.image_signatures;

describe("imageSigners", () => {
  it("lists one signature per signer with Google's key ID and algorithm", async () => {
    await using emulator = await startEmulator({
      writeTokenFile: false,
      imageSigners: [
        { privateKey: builder.privateKey },
        { publicKey: pem(alice.publicKey) },
        { publicKey: pem(bob.publicKey) },
      ],
    });
    const token = await emulator.mintToken({ audience: "https://relying-party.example" });
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    const signatures = signaturesOf(payload)!;
    expect(signatures.map((s) => s.key_id)).toEqual([
      opensslKeyId(pem(builder.publicKey)),
      opensslKeyId(pem(alice.publicKey)),
      opensslKeyId(pem(bob.publicKey)),
    ]);
    expect(signatures.map((s) => s.signature_algorithm)).toEqual([
      "ECDSA_P256_SHA256",
      "RSASSA_PKCS1V15_SHA256",
      "ECDSA_P256_SHA256",
    ]);
    for (const s of signatures) expect(Buffer.from(s.signature, "base64").toString("base64")).toBe(s.signature);
  });

  it("signs the image's cosign payload for real when given the private key", async () => {
    await using emulator = await startEmulator({
      writeTokenFile: false,
      imageSigners: [{ privateKey: builder.privateKey }, { privateKey: alice.privateKey, rsaPadding: "pss" }],
    });
    const claims = emulator.claims();
    const container = (claims.submods as { container: { image_digest: string; image_reference: string } }).container;
    const [ec, rsa] = signaturesOf(claims)!;
    const ecPayload = simpleSigningPayload(container, builder.publicKey, "ECDSA_P256_SHA256");
    expect(verify("sha256", ecPayload, builder.publicKey, Buffer.from(ec!.signature, "base64"))).toBe(true);
    expect(rsa!.signature_algorithm).toBe("RSASSA_PSS_SHA256");
    const rsaPayload = simpleSigningPayload(container, alice.publicKey, "RSASSA_PSS_SHA256");
    const pss = { key: alice.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(verify("sha256", rsaPayload, pss, Buffer.from(rsa!.signature, "base64"))).toBe(true);
    expect(JSON.parse(ecPayload.toString()).critical.image["docker-manifest-digest"]).toBe(container.image_digest);
    const published = JSON.parse(ecPayload.toString()).optional["dev.cosignproject.cosign/pub"];
    expect(createPublicKey(Buffer.from(published, "base64url").toString()).equals(builder.publicKey)).toBe(true);
  });

  it("signs an image whose profile has no image_reference", async () => {
    const profile = { submods: { container: { image_reference: null } } };
    await using emulator = await startEmulator({
      writeTokenFile: false,
      profile,
      imageSigners: [{ privateKey: bob.privateKey }],
    });
    expect(signaturesOf(emulator.claims())?.[0]?.signature_algorithm).toBe("ECDSA_P256_SHA256");
  });

  it("mints an unsigned image without imageSigners", async () => {
    await using emulator = await startEmulator({ writeTokenFile: false });
    expect(signaturesOf(emulator.claims())).toBeUndefined();
  });

  const refused: [string, unknown, option: string][] = [
    ["an empty list", [], "imageSigners"],
    ["both keys", [{ publicKey: pem(bob.publicKey), privateKey: bob.privateKey }], "imageSigners[0]"],
    ["neither key", [{}], "imageSigners[0]"],
    ["an unknown field", [{ publicKey: pem(bob.publicKey), keyId: "x" }], "imageSigners[0].keyId"],
    [
      "a P-384 key",
      [{ publicKey: pem(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey) }],
      "imageSigners[0]",
    ],
    [
      "a private key as publicKey",
      [{ publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }],
      "imageSigners[0]",
    ],
    ["a public key as privateKey", [{ privateKey: bob.publicKey }], "imageSigners[0]"],
    ["an unknown padding", [{ publicKey: pem(alice.publicKey), rsaPadding: "oaep" }], "imageSigners[0].rsaPadding"],
  ];
  it.each(refused)("refuses %s", async (_name, imageSigners, option) => {
    await expect(startEmulator({ writeTokenFile: false, imageSigners: imageSigners as never })).rejects.toMatchObject({
      code: "ERR_INVALID_OPTION",
      option,
    });
  });

  it("refuses imageSigners next to a profile that sets image_signatures", async () => {
    const profile = {
      submods: {
        container: { image_signatures: [{ key_id: "k", signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" }] },
      },
    };
    await expect(
      startEmulator({ writeTokenFile: false, profile, imageSigners: [{ publicKey: pem(bob.publicKey) }] }),
    ).rejects.toMatchObject({ option: "imageSigners" });
  });
});
