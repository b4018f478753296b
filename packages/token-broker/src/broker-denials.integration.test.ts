import { once } from "node:events";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIENCE, type RunningBroker, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { connectWorkload, STORAGE_SCOPE, sendOn } from "../test/workload.js";

const OTHER_DIGEST = `sha256:${"ab".repeat(32)}`;

describe("broker: refusals", () => {
  let env: TestEnvironment;
  let running: RunningBroker;

  beforeAll(async () => {
    env = await startTestEnvironment();
    // The verifier accepts two images; only the emulator's default image has grants.
    running = await env.startBroker(
      env.config((config) => {
        config.attestation.policy = { imageDigests: [env.imageDigest, OTHER_DIGEST] };
      }),
    );
  });
  afterAll(async () => {
    await env?.stop();
  });

  const setDigest = (digest: string) => (claims: Record<string, unknown>) => {
    (claims.submods as { container: { image_digest: string } }).container.image_digest = digest;
  };

  it("refuses an image outside the verifier policy: 401 invalid_token, check image_digest", async () => {
    const res = await running.request({ token: { mutateClaims: setDigest(`sha256:${"cd".repeat(32)}`) } });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: "invalid_token", check: "image_digest" });
    expect(res.headers["www-authenticate"]).toContain("invalid_token");
  });

  it("refuses an image the policy accepts but no grant matches: 403 access_denied", async () => {
    const res = await running.request({ token: { mutateClaims: setDigest(OTHER_DIGEST) } });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      error: "access_denied",
      error_description: "no grant of this broker matches this workload",
    });
  });

  it("refuses a scope the workload's grants do not list: 403", async () => {
    const res = await running.request({ body: { provider: "azure", scope: "https://management.azure.com/.default" } });
    expect(res.status).toBe(403);
    expect(res.json.error).toBe("access_denied");
    expect(res.json.error_description).toBe("no grant matching this workload gives this scope");
  });

  it("refuses a scope that only differs in case or a trailing slash (exact match)", async () => {
    for (const scope of ["https://STORAGE.azure.com/.default", "https://storage.azure.com//.default"]) {
      const res = await running.request({ body: { provider: "azure", scope } });
      expect(res.status, scope).toBe(403);
    }
  });

  it("refuses a debug image: 401, check dbgstat", async () => {
    const res = await running.request({
      token: {
        mutateClaims: (claims) => {
          claims.dbgstat = "enabled";
          delete (claims.submods as { confidential_space: Record<string, unknown> }).confidential_space
            .support_attributes;
        },
      },
    });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: "invalid_token", check: "dbgstat" });
  });

  it("refuses a token for another audience: 401, check audience", async () => {
    const res = await running.request({ token: { audience: "https://other-broker.example" } });
    expect(res.status).toBe(401);
    expect(res.json.check).toBe("audience");
  });

  it("refuses a token bound to connection A sent on connection B: 401, check nonce, logged as a binding mismatch", async () => {
    const a = await connectWorkload(running.url, AUDIENCE, env.tls);
    const b = await connectWorkload(running.url, AUDIENCE, env.tls);
    try {
      const { brokerNonce } = await import("@confspace/ekm-tls");
      const tokenForA = await env.emulator.mintToken({ audience: AUDIENCE, nonces: [brokerNonce(a.ekm)] });
      const mint = env.emulator.mintToken.bind(env.emulator);
      const replay = await sendOn(b, { audience: AUDIENCE, mint, tls: env.tls, rawToken: tokenForA });
      expect(replay.status).toBe(401);
      expect(replay.json).toMatchObject({ error: "invalid_token", check: "nonce" });
      const mismatch = running.logs.records().find((r) => String(r.msg).startsWith("TLS binding mismatch"));
      expect(mismatch?.msg).toContain("bound to another connection");
      // The same token on its own connection is fine.
      const own = await sendOn(a, { audience: AUDIENCE, mint, tls: env.tls, rawToken: tokenForA });
      expect(own.status).toBe(200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it.each([
    ["no nonce", () => undefined, "missing_claim"],
    ["two nonces, the right one first", (nonce: string) => [nonce, "another-nonce-0123456789"], "nonce"],
    ["another connection's nonce", () => ["A".repeat(43)], "nonce"],
  ])("refuses a token with %s: 401", async (_name, nonces, check) => {
    const res = await running.request({ nonces });
    expect(res.status).toBe(401);
    expect(res.json.check).toBe(check);
  });

  it("refuses a TLS 1.2 client at the handshake", async () => {
    const { port } = new URL(running.url);
    const socket = tls.connect({ host: "127.0.0.1", port: Number(port), ca: env.pki.caPem, maxVersion: "TLSv1.2" });
    const [error] = (await once(socket, "error")) as [NodeJS.ErrnoException];
    socket.destroy();
    expect(error.code).toMatch(/ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION|ERR_SSL_UNSUPPORTED_PROTOCOL/);
  });

  it("refuses a body over 64 KiB with 413 without reading it", async () => {
    const res = await running.request({
      rawBody: JSON.stringify({ attestation_token: "x".repeat(70_000), provider: "azure", scope: STORAGE_SCOPE }),
    });
    expect(res.status).toBe(413);
    expect(res.json.error).toBe("request_too_large");
    expect(res.headers.connection).toBe("close");
  });

  it.each([
    ["not JSON", "{not json", /not valid JSON/],
    ["a JSON array", "[]", /JSON object/],
    ["no provider", JSON.stringify({ attestation_token: "x", scope: STORAGE_SCOPE }), /provider/],
    ["an unknown provider", JSON.stringify({ attestation_token: "x", provider: "gcp" }), /provider/],
    [
      "an unknown field",
      JSON.stringify({ attestation_token: "x", provider: "azure", scope: STORAGE_SCOPE, tenant: "t" }),
      /unknown field "tenant"/,
    ],
    [
      "an AWS field on an Azure request",
      JSON.stringify({ attestation_token: "x", provider: "azure", scope: STORAGE_SCOPE, role_arn: "r" }),
      /unknown field "role_arn"/,
    ],
    [
      "a numeric scope",
      JSON.stringify({ attestation_token: "x", provider: "azure", scope: 5 }),
      /"scope" must be a non-empty string/,
    ],
    [
      "two scopes",
      JSON.stringify({ attestation_token: "x", provider: "azure", scope: `${STORAGE_SCOPE} openid` }),
      /single scope/,
    ],
    ["no token", JSON.stringify({ provider: "azure", scope: STORAGE_SCOPE }), /"attestation_token" is required/],
    [
      "a token that is an object",
      JSON.stringify({ attestation_token: {}, provider: "azure", scope: STORAGE_SCOPE }),
      /attestation_token/,
    ],
    [
      "a bad session name",
      JSON.stringify({ attestation_token: "x", provider: "aws", role_arn: "r", session_name: "a b" }),
      /session_name/,
    ],
    [
      "a fractional duration",
      JSON.stringify({ attestation_token: "x", provider: "aws", role_arn: "r", duration_seconds: 900.5 }),
      /duration_seconds/,
    ],
    [
      "a duration under 900 s",
      JSON.stringify({ attestation_token: "x", provider: "aws", role_arn: "r", duration_seconds: 60 }),
      /duration_seconds/,
    ],
  ])("refuses a body with %s: 400 invalid_request", async (_name, rawBody, description) => {
    const res = await running.request({ rawBody });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_request");
    expect(res.json.error_description).toMatch(description);
  });

  it("refuses a form-encoded body: 400", async () => {
    const res = await running.request({ headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(400);
  });

  it("answers unknown paths with 404 and wrong methods with 405", async () => {
    const connection = await connectWorkload(running.url, AUDIENCE, env.tls);
    try {
      expect((await connection.request({ path: "/v1/other" })).statusCode).toBe(404);
      const wrong = await connection.request({ path: "/v1/token" });
      expect(wrong.statusCode).toBe(405);
      expect(wrong.headers.allow).toBe("POST");
    } finally {
      await connection.close();
    }
  });
});
