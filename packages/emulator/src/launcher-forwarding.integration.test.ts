// What the emulated launcher forwards to the attestation service, and how it relays
// the service's rejections (go-tpm-tools launcher/teeserver and verifier/rest).
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postToken } from "../test/unix-request.js";
import { AWS_TAGS_CLAIM } from "./claims.js";
import { startEmulator } from "./emulator.js";
import type { Emulator } from "./emulator-types.js";

const SIGNED_BY = ["zKey2", "aKey1", "bKey3"];
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({
    writeTokenFile: false,
    profile: {
      submods: {
        container: {
          image_signatures: SIGNED_BY.map((key_id) => ({
            key_id,
            signature: "c2ln",
            signature_algorithm: "ECDSA_P256_SHA256",
          })),
        },
        gce: { zone: "europe-west4-b" },
      },
    },
  });
});

afterAll(async () => {
  await emulator.stop();
});

function withKeyIds(tokenType: string, keyIds: string[]) {
  return {
    audience: "sts.amazonaws.com",
    token_type: tokenType,
    aws_principal_tag_options: { allowed_principal_tags: { container_image_signatures: { key_ids: keyIds } } },
  };
}

function principalTags(token: string): Record<string, string[]> {
  return (decodeJwt(token)[AWS_TAGS_CLAIM] as { principal_tags: Record<string, string[]> }).principal_tags;
}

describe("launcher socket: aws_principal_tag_options", () => {
  it("AWS_PRINCIPALTAGS: the signing key IDs, sorted and joined, and no image digest", async () => {
    const res = await postToken(emulator.socketPath, withKeyIds("AWS_PRINCIPALTAGS", ["zKey2", "bKey3", "aKey1"]));
    expect(res.status).toBe(200);
    const tags = principalTags(res.body);
    expect(tags["container.signatures.key_ids"]).toEqual(["aKey1=bKey3=zKey2"]);
    expect(tags).not.toHaveProperty(["container.image_digest"]);
    expect(tags).not.toHaveProperty(["dbgstat"]);
  });

  it("LIMITED_AWS: the launcher drops the key IDs silently, so the token carries the digest", async () => {
    const res = await postToken(emulator.socketPath, withKeyIds("LIMITED_AWS", ["aKey1"]));
    expect(res.status).toBe(200);
    const tags = principalTags(res.body);
    expect(tags).not.toHaveProperty(["container.signatures.key_ids"]);
    expect(tags["container.image_digest"]).toEqual([imageDigest()]);
  });

  it("OIDC and PKI: the key IDs vanish too, and the token has no AWS tags", async () => {
    for (const tokenType of ["OIDC", "PKI"]) {
      const res = await postToken(emulator.socketPath, withKeyIds(tokenType, ["aKey1"]));
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body)).not.toHaveProperty([AWS_TAGS_CLAIM]);
    }
  });
});

describe("launcher socket: an unknown token_type", () => {
  it("is forwarded as TOKEN_TYPE_UNSPECIFIED, which the service answers with an OIDC token", async () => {
    const res = await postToken(emulator.socketPath, {
      ...withKeyIds("JWT", ["aKey1"]),
      audience: "https://a.example",
    });
    expect(res.status).toBe(200);
    const header = decodeProtectedHeader(res.body);
    expect(header.kid).toEqual(expect.any(String));
    expect(header).not.toHaveProperty("x5c");
    const claims = decodeJwt(res.body);
    expect(claims.aud).toBe("https://a.example");
    expect(claims).not.toHaveProperty([AWS_TAGS_CLAIM]);
  });

  it("still goes through the service's checks", async () => {
    const res = await postToken(emulator.socketPath, { audience: "a", nonces: ["short"], token_type: "oidc" });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/nonce 0 is 5 bytes/);
  });
});

describe("launcher socket: service rejections", () => {
  it("carry the launcher's prefix with the region of the VM's zone and the REST client's wording", async () => {
    const res = await postToken(emulator.socketPath, { audience: "a".repeat(513), token_type: "OIDC" });
    expect(res.status).toBe(400);
    expect(res.body).toBe(
      "failed to retrieve custom attestation service token: calling v1.VerifyConfidentialSpace in europe-west4: googleapi: Error 400: audience must be at most 512 bytes",
    );
  });

  it("are not added to the launcher's own 400s, which never reach the service", async () => {
    const res = await postToken(emulator.socketPath, { audience: "a", token_type: "" });
    expect(res.body).toBe("token_type is a required parameter");
  });
});

function imageDigest(): string {
  return (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
}
