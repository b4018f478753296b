import { crc32c, InvalidOptionError } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalKms, startLocalKms } from "./kms.js";
import type { LocalGooglePrincipal } from "./principals.js";

const POOL = "projects/42/locations/global/workloadIdentityPools/trusted-workload-pool";
const APPROVED = "us-docker.pkg.dev/op/repo/app@sha256:aaa";
const KEY = "projects/collab-one/locations/global/keyRings/kr1/cryptoKeys/key1";
const OTHER_KEY = "projects/collab-two/locations/global/keyRings/kr1/cryptoKeys/key1";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

/** Access tokens a fake issuer hands out (stands in for the local STS). */
const tokens = new Map<string, LocalGooglePrincipal>();
const now = Date.now();
let kms: LocalKms;

function federated(image: string, overrides: Partial<LocalGooglePrincipal> = {}): LocalGooglePrincipal {
  return {
    kind: "federated",
    pool: POOL,
    subject: "https://www.googleapis.com/compute/v1/projects/op/zones/z/instances/tee",
    groups: [],
    attributes: { image_reference: image },
    audience: `//iam.googleapis.com/${POOL}/providers/attestation-verifier`,
    scopes: [CLOUD_PLATFORM],
    expiresAt: now + 3_600_000,
    ...overrides,
  } as LocalGooglePrincipal;
}

beforeAll(async () => {
  tokens.set("approved", federated(APPROVED));
  tokens.set("other-image", federated(APPROVED.replace("aaa", "bbb")));
  tokens.set("expired", federated(APPROVED, { expiresAt: now - 1 }));
  tokens.set("narrow-scope", federated(APPROVED, { scopes: ["https://www.googleapis.com/auth/devstorage.read_only"] }));
  kms = await startLocalKms({
    tokenIssuers: [{ resolveAccessToken: (token) => tokens.get(token) }],
    staticTokens: [{ token: "alice", member: "user:alice@example.com" }],
    clock: () => now,
    keys: [
      {
        name: KEY,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: ["user:alice@example.com"] },
          {
            role: "roles/cloudkms.cryptoKeyDecrypter",
            members: [`principalSet://iam.googleapis.com/${POOL}/attribute.image_reference/${APPROVED}`],
          },
        ],
      },
      {
        name: OTHER_KEY,
        bindings: [{ role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", members: ["user:alice@example.com"] }],
      },
    ],
  });
});

afterAll(async () => {
  await kms?.close();
});

async function call(name: string, method: "encrypt" | "decrypt", body: unknown, token?: string, query = "") {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${kms.endpoint}/v1/${name}:${method}${query}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Reply };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON replies are probed field by field.
type Reply = Record<string, any>;

const b64 = (text: string) => Buffer.from(text).toString("base64");

async function encrypted(text: string, aad?: string): Promise<string> {
  const result = await call(
    KEY,
    "encrypt",
    { plaintext: b64(text), ...(aad && { additionalAuthenticatedData: b64(aad) }) },
    "alice",
  );
  expect(result.status).toBe(200);
  return result.body.ciphertext as string;
}

describe("startLocalKms encrypt/decrypt", () => {
  it("encrypts for an Encrypter and decrypts for the approved image's principalSet", async () => {
    const enc = await call(
      KEY,
      "encrypt",
      { plaintext: b64("hello world"), plaintextCrc32c: String(crc32c(Buffer.from("hello world"))) },
      "alice",
    );
    expect(enc).toMatchObject({
      status: 200,
      body: { name: `${KEY}/cryptoKeyVersions/1`, verifiedPlaintextCrc32c: true, protectionLevel: "SOFTWARE" },
    });
    expect(enc.body.ciphertextCrc32c).toBe(String(crc32c(Buffer.from(enc.body.ciphertext, "base64"))));
    const dec = await call(KEY, "decrypt", { ciphertext: enc.body.ciphertext }, "approved");
    expect(dec.status).toBe(200);
    expect(Buffer.from(dec.body.plaintext, "base64").toString()).toBe("hello world");
    expect(dec.body).toMatchObject({ usedPrimary: true, plaintextCrc32c: String(crc32c(Buffer.from("hello world"))) });
    expect(kms.requests.at(-1)).toMatchObject({
      operation: "decrypt",
      name: KEY,
      status: 200,
      caller: expect.stringMatching(/^principal:\/\//),
    });
  });

  it("failNext with a code and pathPrefix faults only that key's requests, for count requests", async () => {
    kms.failNext({
      status: 429,
      code: "RESOURCE_EXHAUSTED",
      message: "Quota exceeded.",
      count: 2,
      pathPrefix: `/v1/${KEY}:`,
    });
    const plaintext = { plaintext: b64("x") };
    for (let i = 0; i < 2; i++) {
      expect(await call(KEY, "encrypt", plaintext, "alice")).toEqual({
        status: 429,
        body: { error: { code: 429, message: "Quota exceeded.", status: "RESOURCE_EXHAUSTED" } },
      });
    }
    expect(kms.requests.at(-1)).toMatchObject({
      operation: "encrypt",
      name: KEY,
      error: "RESOURCE_EXHAUSTED",
      fault: true,
    });
    expect((await call(KEY, "encrypt", plaintext, "alice")).status).toBe(200);
  });

  it("delayNext holds the next request back", async () => {
    kms.delayNext(300);
    const started = Date.now();
    expect((await call(KEY, "encrypt", { plaintext: b64("x") }, "alice")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("answers enums as numbers when asked with $alt=json;enum-encoding=int", async () => {
    const enc = await call(KEY, "encrypt", { plaintext: b64("x") }, "alice", "?$alt=json%3Benum-encoding=int");
    expect(enc.body.protectionLevel).toBe(1);
  });

  it("accepts snake_case field names and URL-safe base64 (proto3 JSON)", async () => {
    const plaintext = Buffer.from([0xfb, 0xff, 0xfe]).toString("base64url");
    const enc = await call(
      KEY,
      "encrypt",
      { plaintext, plaintext_crc32c: crc32c(Buffer.from([0xfb, 0xff, 0xfe])) },
      "alice",
    );
    expect(enc.status).toBe(200);
    expect(enc.body.verifiedPlaintextCrc32c).toBe(true);
  });

  it("binds the AAD: decrypting with another AAD fails", async () => {
    const ciphertext = await encrypted("secret", "collaborator-1");
    expect(
      (await call(KEY, "decrypt", { ciphertext, additionalAuthenticatedData: b64("collaborator-1") }, "approved"))
        .status,
    ).toBe(200);
    const wrong = await call(
      KEY,
      "decrypt",
      { ciphertext, additionalAuthenticatedData: b64("collaborator-2") },
      "approved",
    );
    expect(wrong).toMatchObject({
      status: 400,
      body: {
        error: {
          status: "INVALID_ARGUMENT",
          message: "Decryption failed: verify that 'name' refers to the correct CryptoKey.",
        },
      },
    });
  });

  it("makes a ciphertext useless with another key, even for a caller allowed to decrypt there", async () => {
    const ciphertext = await encrypted("for key one");
    const result = await call(OTHER_KEY, "decrypt", { ciphertext }, "alice");
    expect(result).toMatchObject({ status: 400, body: { error: { code: 400, status: "INVALID_ARGUMENT" } } });
  });

  it("keeps decrypting old versions after a rotation, reporting usedPrimary false", async () => {
    const ciphertext = await call(OTHER_KEY, "encrypt", { plaintext: b64("v1") }, "alice");
    kms.rotateKey(OTHER_KEY);
    const fresh = await call(OTHER_KEY, "encrypt", { plaintext: b64("v2") }, "alice");
    expect(fresh.body.name).toBe(`${OTHER_KEY}/cryptoKeyVersions/2`);
    const old = await call(OTHER_KEY, "decrypt", { ciphertext: ciphertext.body.ciphertext }, "alice");
    expect(old.body).toMatchObject({ plaintext: b64("v1"), usedPrimary: false });
  });

  it("sees a policy change at once", async () => {
    const ciphertext = await encrypted("policy");
    kms.setIamPolicy(KEY, [{ role: "roles/cloudkms.cryptoKeyEncrypter", members: ["user:alice@example.com"] }]);
    try {
      expect((await call(KEY, "decrypt", { ciphertext }, "approved")).status).toBe(403);
    } finally {
      kms.setIamPolicy(KEY, [
        { role: "roles/cloudkms.cryptoKeyEncrypter", members: ["user:alice@example.com"] },
        {
          role: "roles/cloudkms.cryptoKeyDecrypter",
          members: [`principalSet://iam.googleapis.com/${POOL}/attribute.image_reference/${APPROVED}`],
        },
      ]);
    }
    expect((await call(KEY, "decrypt", { ciphertext }, "approved")).status).toBe(200);
  });

  const rows: Array<
    [string, () => Promise<[string, "encrypt" | "decrypt", unknown, string | undefined]>, number, string, RegExp]
  > = [
    [
      "no bearer token",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a") }, undefined],
      401,
      "UNAUTHENTICATED",
      /missing required authentication credential/,
    ],
    [
      "an unknown token",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a") }, "forged"],
      401,
      "UNAUTHENTICATED",
      /invalid authentication credentials/,
    ],
    [
      "an expired token",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a") }, "expired"],
      401,
      "UNAUTHENTICATED",
      /invalid authentication credentials/,
    ],
    [
      "a token without a KMS scope",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a") }, "narrow-scope"],
      403,
      "PERMISSION_DENIED",
      /insufficient authentication scopes/,
    ],
    [
      "another image's federated token",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a") }, "other-image"],
      403,
      "PERMISSION_DENIED",
      /^Permission 'cloudkms\.cryptoKeyVersions\.useToDecrypt' denied on resource 'projects\/collab-one\/.*key1' \(or it may not exist\)\.$/,
    ],
    [
      "an Encrypter decrypting",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a") }, "alice"],
      403,
      "PERMISSION_DENIED",
      /useToDecrypt/,
    ],
    [
      "a Decrypter encrypting",
      async () => [KEY, "encrypt", { plaintext: b64("a") }, "approved"],
      403,
      "PERMISSION_DENIED",
      /useToEncrypt/,
    ],
    [
      "a key that does not exist",
      async () => [`${KEY}x`, "encrypt", { plaintext: b64("a") }, "alice"],
      403,
      "PERMISSION_DENIED",
      /\(or it may not exist\)/,
    ],
    [
      "a wrong plaintext checksum",
      async () => [KEY, "encrypt", { plaintext: b64("a"), plaintextCrc32c: "1" }, "alice"],
      400,
      "INVALID_ARGUMENT",
      /^The checksum in field plaintext_crc32c did not match the data in field plaintext\.$/,
    ],
    [
      "a wrong AAD checksum",
      async () => [
        KEY,
        "encrypt",
        { plaintext: b64("a"), additionalAuthenticatedData: b64("x"), additionalAuthenticatedDataCrc32c: "7" },
        "alice",
      ],
      400,
      "INVALID_ARGUMENT",
      /additional_authenticated_data_crc32c/,
    ],
    [
      "a wrong ciphertext checksum",
      async () => [KEY, "decrypt", { ciphertext: await encrypted("a"), ciphertextCrc32c: "9" }, "approved"],
      400,
      "INVALID_ARGUMENT",
      /ciphertext_crc32c/,
    ],
    [
      "a flipped ciphertext byte",
      async () => {
        const raw = Buffer.from(await encrypted("abc"), "base64");
        raw[raw.length - 20]! ^= 1;
        return [KEY, "decrypt", { ciphertext: raw.toString("base64") }, "approved"];
      },
      400,
      "INVALID_ARGUMENT",
      /^Decryption failed/,
    ],
    [
      "an unknown field",
      async () => [KEY, "encrypt", { plaintext: b64("a"), keyVersion: "1" }, "alice"],
      400,
      "INVALID_ARGUMENT",
      /Unknown name "keyVersion"/,
    ],
    [
      "base64 that is not",
      async () => [KEY, "encrypt", { plaintext: "***" }, "alice"],
      400,
      "INVALID_ARGUMENT",
      /Base64 decoding failed/,
    ],
    [
      "an empty plaintext",
      async () => [KEY, "encrypt", {}, "alice"],
      400,
      "INVALID_ARGUMENT",
      /Plaintext must not be empty/,
    ],
    [
      "a plaintext over 64 KiB",
      async () => [KEY, "encrypt", { plaintext: Buffer.alloc(65537).toString("base64") }, "alice"],
      400,
      "INVALID_ARGUMENT",
      /at most 65536/,
    ],
    [
      "a body that is not JSON",
      async () => [KEY, "encrypt", "{", "alice"],
      400,
      "INVALID_ARGUMENT",
      /Invalid JSON payload/,
    ],
  ];

  it.each(rows)("answers %s with Google's error JSON", async (_name, make, status, googleStatus, message) => {
    const [name, method, body, token] = await make();
    const result = await call(name, method, body, token);
    expect(result.status).toBe(status);
    expect(Object.keys(result.body)).toEqual(["error"]);
    expect(result.body.error).toMatchObject({
      code: status,
      status: googleStatus,
      message: expect.stringMatching(message),
    });
  });

  it("names the IAM permission and resource in an ErrorInfo detail", async () => {
    const result = await call(KEY, "decrypt", { ciphertext: await encrypted("a") }, "other-image");
    expect(result.body.error.details).toEqual([
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "IAM_PERMISSION_DENIED",
        domain: "cloudkms.googleapis.com",
        metadata: { permission: "cloudkms.cryptoKeyVersions.useToDecrypt", resource: KEY },
      },
    ]);
  });

  it("answers 404 for a decrypt naming a key version and for other paths", async () => {
    expect((await call(`${KEY}/cryptoKeyVersions/1`, "decrypt", {}, "approved")).status).toBe(404);
    const response = await fetch(`${kms.endpoint}/v1/${KEY}`, { headers: { authorization: "Bearer alice" } });
    expect(response.status).toBe(404);
  });

  it("refuses to start with a malformed key name or an unknown role", async () => {
    await expect(
      startLocalKms({ tokenIssuers: [], keys: [{ name: "keyRings/kr/cryptoKeys/k", bindings: [] }] }),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      startLocalKms({
        tokenIssuers: [],
        keys: [{ name: KEY, bindings: [{ role: "roles/cloudkms.admin", members: ["user:a@b.c"] }] }],
      }),
    ).rejects.toThrow(/roles\/cloudkms.admin/);
  });
});
