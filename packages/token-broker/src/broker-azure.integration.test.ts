import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CERT_CLIENT_ID,
  CLIENT_ID,
  type RunningBroker,
  startTestEnvironment,
  type TestEnvironment,
} from "../test/harness.js";
import { connectWorkload, STORAGE_SCOPE, sendOn } from "../test/workload.js";

describe("broker: Azure access tokens", () => {
  let env: TestEnvironment;
  let running: RunningBroker;

  beforeAll(async () => {
    env = await startTestEnvironment();
    running = await env.startBroker();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("trades a bound attestation token for an access token whose audience is the scope's resource", async () => {
    const res = await running.request();
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Object.keys(res.json).sort()).toEqual(["access_token", "expires_on", "refresh_in", "token_type"]);
    expect(res.json.token_type).toBe("Bearer");
    const claims = decodeJwt(res.json.access_token as string);
    expect(claims.aud).toBe("https://storage.azure.com");
    expect(claims.appid).toBe(CLIENT_ID);
    expect(claims.iss).toBe(`https://sts.windows.net/${claims.tid}/`);
    // expires_on is the upstream's expiry, in epoch seconds, as @azure/identity reports it:
    // request time + Entra's expires_in, which can differ from the token's exp by rounding.
    expect(Math.abs((res.json.expires_on as number) - (claims.exp as number))).toBeLessThanOrEqual(1);
    const refreshIn = res.json.refresh_in as number;
    const remaining = (claims.exp as number) - Math.floor(Date.now() / 1000);
    expect(Number.isInteger(refreshIn)).toBe(true);
    expect(refreshIn).toBeGreaterThan(0);
    expect(refreshIn).toBeLessThan(remaining);
  });

  it("uses a certificate-authenticated Entra application for the grant that names it", async () => {
    const res = await running.request({ body: { provider: "azure", scope: "https://vault.azure.net/.default" } });
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.json.access_token as string);
    expect(claims.aud).toBe("https://vault.azure.net");
    expect(claims.appid).toBe(CERT_CLIENT_ID);
    expect(claims.appidacr).toBe("2");
  });

  it("serves 1000 concurrent workloads with one Entra call per (tenant, scope)", async () => {
    const fresh = await env.startBroker();
    const before = env.entra.tokenRequests;
    const results = await Promise.all(Array.from({ length: 1000 }, () => fresh.request()));
    expect(results.map((r) => r.status)).toEqual(Array(1000).fill(200));
    expect(env.entra.tokenRequests - before).toBe(1);
    expect(new Set(results.map((r) => r.json.access_token)).size).toBe(1);
    // Another scope is another upstream call, once.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        fresh.request({ body: { provider: "azure", scope: "https://vault.azure.net/.default" } }),
      ),
    );
    expect(env.entra.tokenRequests - before).toBe(2);
    const metrics = fresh.broker.metrics.render();
    expect(metrics).toMatch(/confspace_broker_upstream_requests_total\{provider="azure",outcome="ok"\} 2\n/);
    expect(metrics).toMatch(/confspace_broker_requests_total\{outcome="ok",provider="azure"\} 1020\n/);
  }, 60_000);

  it("answers several requests on one bound connection with the same binding", async () => {
    const connection = await connectWorkload(running.url, "https://broker.confspace.test", env.tls);
    try {
      const options = {
        audience: "https://broker.confspace.test",
        mint: env.emulator.mintToken.bind(env.emulator),
        tls: env.tls,
      };
      const first = await sendOn(connection, options);
      const second = await sendOn(connection, { ...options, body: { provider: "azure", scope: STORAGE_SCOPE } });
      expect([first.status, second.status]).toEqual([200, 200]);
    } finally {
      await connection.close();
    }
  });
});

describe("broker: Azure details", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    // Entra sends refresh_in (as it does for long-lived tokens): the broker's cache
    // refreshes then, and tells workloads to come back just after.
    env = await startTestEnvironment({ entraRefreshInSeconds: 600 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("derives refresh_in from Entra's refresh hint", async () => {
    const running = await env.startBroker();
    const res = await running.request();
    expect(res.status).toBe(200);
    // refresh hint 600 s + a 30 s margin, minus the time the request took.
    expect(res.json.refresh_in).toBeGreaterThanOrEqual(620);
    expect(res.json.refresh_in).toBeLessThanOrEqual(630);
  });

  it("verifies PKI tokens against the pinned root when configured for PKI", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.attestation.tokenType = "PKI";
        config.attestation.pkiRootFingerprint = env.emulator.pkiRootFingerprint;
      }),
    );
    const pki = await running.request({ token: { tokenType: "PKI" } });
    expect(pki.status).toBe(200);
    const oidc = await running.request();
    expect(oidc.status).toBe(401);
    expect(oidc.json.check).toBe("certificate_chain");
  });
});
