import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startEmulator } from "./emulator.js";
import type { Emulator } from "./emulator-types.js";

let emulator: Emulator;

beforeEach(async () => {
  emulator = await startEmulator({ writeTokenFile: false });
});

afterEach(async () => {
  await emulator.stop();
});

async function jwksKids(): Promise<string[]> {
  const jwks = (await (await fetch(emulator.jwksUri)).json()) as { keys: { kid: string }[] };
  return jwks.keys.map((key) => key.kid);
}

describe("OIDC issuer", () => {
  it("listens on loopback HTTP and names itself, never Google, as the issuer", async () => {
    expect(emulator.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${emulator.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const discovery = (await res.json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: emulator.issuer,
      jwks_uri: emulator.jwksUri,
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
    });
    expect(discovery.claims_supported).toContain("eat_nonce");
    expect(JSON.stringify(discovery)).not.toContain("googleapis.com");
  });

  it("publishes public RS256 keys with kid and no private parameters", async () => {
    const jwks = (await (await fetch(emulator.jwksUri)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
    expect(key!.kid).toEqual(expect.any(String));
    for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    expect(decodeProtectedHeader(await emulator.mintToken()).kid).toBe(key!.kid);
  });

  it("counts JWKS requests, and only those", async () => {
    expect(emulator.jwksRequests).toBe(0);
    await fetch(`${emulator.issuer}/.well-known/openid-configuration`);
    expect(emulator.jwksRequests).toBe(0);
    await fetch(emulator.jwksUri);
    await fetch(emulator.jwksUri);
    expect(emulator.jwksRequests).toBe(2);
  });

  it("verifies with jose's remote JWKS, which fetches once for many tokens", async () => {
    const jwks = createRemoteJWKSet(new URL(emulator.jwksUri));
    for (const audience of ["a", "b", "c"]) {
      const token = await emulator.mintToken({ audience });
      const { payload } = await jwtVerify(token, jwks, { issuer: emulator.issuer, audience, algorithms: ["RS256"] });
      expect(payload.aud).toBe(audience);
    }
    expect(emulator.jwksRequests).toBe(1);
  });

  it("rotateKeys() signs with a new kid and keeps the old key published", async () => {
    const oldToken = await emulator.mintToken();
    const [oldKid] = await jwksKids();
    await emulator.rotateKeys();
    const newToken = await emulator.mintToken();
    const newKid = decodeProtectedHeader(newToken).kid;
    expect(newKid).not.toBe(oldKid);
    expect(await jwksKids()).toEqual([newKid, oldKid]);
    const jwks = createRemoteJWKSet(new URL(emulator.jwksUri));
    await expect(jwtVerify(oldToken, jwks, { issuer: emulator.issuer })).resolves.toBeDefined();
    await expect(jwtVerify(newToken, jwks, { issuer: emulator.issuer })).resolves.toBeDefined();
  });

  it("keeps only the latest retired key across two rotations", async () => {
    const [first] = await jwksKids();
    await emulator.rotateKeys();
    const [second] = await jwksKids();
    await emulator.rotateKeys();
    const kids = await jwksKids();
    expect(kids).toHaveLength(2);
    expect(kids[1]).toBe(second);
    expect(kids).not.toContain(first);
  });

  it("rotateKeys({ keepPrevious: false }) drops the old key, so its tokens stop verifying", async () => {
    const oldToken = await emulator.mintToken();
    await emulator.rotateKeys({ keepPrevious: false });
    expect(await jwksKids()).toHaveLength(1);
    const jwks = createRemoteJWKSet(new URL(emulator.jwksUri));
    await expect(jwtVerify(oldToken, jwks, { issuer: emulator.issuer })).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });

  it("failNextJwks() makes the JWKS endpoint fail and still counts the request", async () => {
    emulator.failNextJwks({ status: 503, body: "down", count: 2 });
    const first = await fetch(emulator.jwksUri);
    expect(first.status).toBe(503);
    expect(await first.text()).toBe("down");
    expect((await fetch(emulator.jwksUri)).status).toBe(503);
    expect((await fetch(emulator.jwksUri)).status).toBe(200);
    expect(emulator.jwksRequests).toBe(3);
  });

  it("serves the PKI root certificate", async () => {
    const res = await fetch(`${emulator.issuer}/pki/root.pem`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(emulator.pkiRootCertificatePem);
  });

  it("answers HEAD without a body, other methods with 405 and unknown paths with 404", async () => {
    const head = await fetch(emulator.jwksUri, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await fetch(emulator.jwksUri, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`${emulator.issuer}/nope`)).status).toBe(404);
  });
});

describe("OIDC issuer: slow JWKS", () => {
  it("delayNextJwks() holds the next JWKS reply back, so a client can time out", async () => {
    emulator.delayNextJwks(5_000);
    await expect(fetch(emulator.jwksUri, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    emulator.delayNextJwks(200);
    const started = performance.now();
    expect((await fetch(emulator.jwksUri)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(emulator.jwksRequests).toBe(2);
  });
});
