import { stat } from "node:fs/promises";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importX509, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postToken, unixRequest } from "../test/unix-request.js";
import { startEmulator } from "./emulator.js";
import type { Emulator } from "./emulator-types.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ writeTokenFile: false });
});

afterAll(async () => {
  await emulator.stop();
});

async function verifyOidc(token: string, audience: string) {
  const jwks = (await (await fetch(emulator.jwksUri)).json()) as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), { issuer: emulator.issuer, audience, algorithms: ["RS256"] });
}

const NONCE = "0123456789abcdef";

describe("launcher socket: GET /v1/token", () => {
  it("returns a fresh default token as text/html without a trailing newline", async () => {
    const res = await unixRequest(emulator.socketPath);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html");
    expect(res.body).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const { payload, protectedHeader } = await verifyOidc(res.body, "https://sts.googleapis.com");
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "JWT" });
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).not.toHaveProperty("eat_nonce");
    const again = await unixRequest(emulator.socketPath);
    expect(decodeJwt(again.body).jti).not.toBe(payload.jti);
  });

  it("serves /v1/token with a query string", async () => {
    expect((await unixRequest(emulator.socketPath, { path: "/v1/token?x=1" })).status).toBe(200);
  });

  it("makes the socket world-connectable like the real one (0777)", async () => {
    const info = await stat(emulator.socketPath);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o777);
  });
});

describe("launcher socket: POST /v1/token", () => {
  it("mints a custom OIDC token with one nonce as a string", async () => {
    const res = await postToken(emulator.socketPath, {
      audience: "https://broker.example",
      nonces: [NONCE],
      token_type: "OIDC",
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html");
    const { payload } = await verifyOidc(res.body, "https://broker.example");
    expect(payload.eat_nonce).toBe(NONCE);
  });

  it("returns several nonces as an array", async () => {
    const nonces = [NONCE, "fedcba9876543210"];
    const res = await postToken(emulator.socketPath, { audience: "aud", nonces, token_type: "OIDC" });
    expect(decodeJwt(res.body).eat_nonce).toEqual(nonces);
  });

  it("signs PKI tokens with the leaf key and an x5c chain instead of a kid", async () => {
    const res = await postToken(emulator.socketPath, { audience: "aud", token_type: "PKI" });
    expect(res.status).toBe(200);
    const header = decodeProtectedHeader(res.body);
    expect(header.kid).toBeUndefined();
    expect(header.x5c).toEqual(emulator.pkiChain.x5c);
    const leaf = await importX509(emulator.pkiChain.leaf.certificatePem, "RS256");
    const { payload } = await jwtVerify(res.body, leaf, { issuer: emulator.issuer, audience: "aud" });
    expect(payload.aud).toBe("aud");
  });

  it("adds AWS principal tags for AWS_PRINCIPALTAGS and LIMITED_AWS", async () => {
    for (const tokenType of ["AWS_PRINCIPALTAGS", "LIMITED_AWS"]) {
      const res = await postToken(emulator.socketPath, {
        audience: "sts.amazonaws.com",
        token_type: tokenType,
        aws_principal_tag_options: { allowed_principal_tags: { container_image_signatures: { key_ids: ["k"] } } },
      });
      expect(res.status).toBe(200);
      const tags = (decodeJwt(res.body)["https://aws.amazon.com/tags"] as { principal_tags: Record<string, string[]> })
        .principal_tags;
      expect(tags["confidential_space.support_attributes"]).toEqual(["LATEST=STABLE=USABLE"]);
      expect(tags["gce.project_id"]).toEqual(["confspace-emulator"]);
    }
  });

  it("accepts the boundaries: 6 nonces of 10 and 74 bytes, a 512-byte audience (counted in bytes)", async () => {
    const nonces = ["a".repeat(10), "b".repeat(74), "é".repeat(5), "é".repeat(37), "c".repeat(10), "d".repeat(10)];
    const res = await postToken(emulator.socketPath, { audience: "é".repeat(256), nonces, token_type: "OIDC" });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body).eat_nonce).toEqual(nonces);
  });
});

describe("launcher socket: errors, as the launcher writes them", () => {
  const custom =
    "failed to retrieve custom attestation service token: calling v1.VerifyConfidentialSpace in us-central1: googleapi: Error 400: ";
  const ok = { audience: "https://broker.example", nonces: [NONCE], token_type: "OIDC" };

  // One mutation per row from a known-good request.
  it.each<[string, { method?: string; path?: string; body?: string }, number, string | RegExp]>([
    [
      "an unknown field",
      { body: JSON.stringify({ ...ok, extra: true }) },
      400,
      'failed to parse POST body as TokenOptions: json: unknown field "extra"',
    ],
    ["an empty body", { body: "" }, 400, "failed to parse POST body as TokenOptions: EOF"],
    ["malformed JSON", { body: "{" }, 400, "failed to parse POST body as TokenOptions: unexpected EOF"],
    [
      "a wrongly typed field",
      { body: JSON.stringify({ ...ok, nonces: NONCE }) },
      400,
      /^failed to parse POST body as TokenOptions: json: cannot unmarshal string/,
    ],
    [
      "no audience",
      { body: JSON.stringify({ ...ok, audience: "" }) },
      400,
      "use GET request for the default identity token",
    ],
    [
      "no token_type",
      { body: JSON.stringify({ ...ok, token_type: undefined }) },
      400,
      "token_type is a required parameter",
    ],
    ["PUT", { method: "PUT", body: JSON.stringify(ok) }, 400, "TEE server received an invalid HTTP method: PUT"],
    ["DELETE", { method: "DELETE" }, 400, "TEE server received an invalid HTTP method: DELETE"],
    [
      "a 513-byte audience",
      { body: JSON.stringify({ ...ok, audience: "a".repeat(513) }) },
      400,
      `${custom}audience must be at most 512 bytes`,
    ],
    [
      "the default audience",
      { body: JSON.stringify({ ...ok, audience: "https://sts.googleapis.com" }) },
      400,
      new RegExp(`^${custom}audience https://sts.googleapis.com is reserved`),
    ],
    [
      "7 nonces",
      { body: JSON.stringify({ ...ok, nonces: Array(7).fill(NONCE) }) },
      400,
      `${custom}at most 6 nonces are allowed, got 7`,
    ],
    [
      "a 9-byte nonce",
      { body: JSON.stringify({ ...ok, nonces: ["a".repeat(9)] }) },
      400,
      `${custom}nonce 0 is 9 bytes; nonces must be 10 to 74 bytes`,
    ],
    [
      "a 75-byte nonce",
      { body: JSON.stringify({ ...ok, nonces: [NONCE, "a".repeat(75)] }) },
      400,
      `${custom}nonce 1 is 75 bytes; nonces must be 10 to 74 bytes`,
    ],
    ["an unknown path", { method: "GET", path: "/v1/other" }, 404, "404 page not found\n"],
    ["a trailing slash", { method: "GET", path: "/v1/token/" }, 404, "404 page not found\n"],
  ])("answers %s with the launcher's status and text", async (_name, request, status, body) => {
    const res = await unixRequest(emulator.socketPath, { method: request.method ?? "POST", ...request });
    expect(res.status).toBe(status);
    if (typeof body === "string") expect(res.body).toBe(body);
    else expect(res.body).toMatch(body);
    expect(res.headers["content-type"]).toBe(status === 404 ? "text/plain; charset=utf-8" : "text/html");
  });
});

describe("launcher socket: injected faults", () => {
  it("failNext() answers the next request with the given status and body, then recovers", async () => {
    emulator.failNext({ status: 500, body: "failed to retrieve attestation service token: boom" });
    const failed = await unixRequest(emulator.socketPath);
    expect(failed.status).toBe(500);
    expect(failed.body).toBe("failed to retrieve attestation service token: boom");
    expect(failed.headers["content-type"]).toBe("text/html");
    expect((await unixRequest(emulator.socketPath)).status).toBe(200);
  });

  it("failNext({ count }) fails that many requests, GET and POST alike", async () => {
    emulator.failNext({ status: 503, body: "unavailable", count: 2 });
    expect((await unixRequest(emulator.socketPath)).status).toBe(503);
    expect((await postToken(emulator.socketPath, { audience: "a", token_type: "OIDC" })).status).toBe(503);
    expect((await unixRequest(emulator.socketPath)).status).toBe(200);
  });

  it("delayNext() holds the next reply back", async () => {
    emulator.delayNext(300);
    const started = performance.now();
    const res = await unixRequest(emulator.socketPath);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const quick = performance.now();
    await unixRequest(emulator.socketPath);
    expect(performance.now() - quick).toBeLessThan(290);
  });

  it("delayNext() lets a client time out, and the launcher keeps serving", async () => {
    emulator.delayNext(5_000);
    await expect(unixRequest(emulator.socketPath, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect((await unixRequest(emulator.socketPath)).status).toBe(200);
  });

  it("clearFaults() drops queued failures", async () => {
    emulator.failNext({ status: 500, body: "x", count: Number.POSITIVE_INFINITY });
    emulator.clearFaults();
    expect((await unixRequest(emulator.socketPath)).status).toBe(200);
  });
});

describe("launcher socket: quota", () => {
  it("is off by default, and there is no local per-minute limit either (none in any launcher version)", async () => {
    // A reported "10 /v1/token requests per minute, then 429" does not exist in go-tpm-tools.
    const statuses = await Promise.all(Array.from({ length: 12 }, () => unixRequest(emulator.socketPath)));
    expect(statuses.map((r) => r.status)).toEqual(Array(12).fill(200));
  });

  it("with launcherQuota, refuses the 6th request within a second with the service's 500", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const limited = await startEmulator({ writeTokenFile: false, launcherQuota: true, now: () => now });
    try {
      for (let i = 0; i < 5; i++) expect((await unixRequest(limited.socketPath)).status).toBe(200);
      const refused = await postToken(limited.socketPath, { audience: "a", token_type: "OIDC" });
      expect(refused.status).toBe(500);
      expect(refused.body).toMatch(
        /^failed to retrieve custom attestation service token: calling v1\.VerifyConfidentialSpace in us-central1: googleapi: Error 429: Quota exceeded/,
      );
      const refusedGet = await unixRequest(limited.socketPath);
      expect(refusedGet.status).toBe(500);
      expect(refusedGet.body).toMatch(
        /^failed to retrieve attestation service token: calling v1\.VerifyConfidentialSpace in us-central1: googleapi: Error 429: /,
      );
      now += 1000;
      expect((await unixRequest(limited.socketPath)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
