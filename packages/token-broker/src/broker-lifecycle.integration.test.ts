import { request as httpsRequest } from "node:https";
import { startLocalEntra } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIENCE,
  AWS_SECRET_ACCESS_KEY,
  CLIENT_ID,
  CLIENT_SECRET,
  ROLE_ARN,
  startTestEnvironment,
  TENANT_ID,
  type TestEnvironment,
} from "../test/harness.js";
import { connectWorkload } from "../test/workload.js";

const INFLIGHT_ONE = "\nconfspace_broker_inflight_requests 1\n";

/** GET over a plain https request (what a probe or Prometheus does). */
function get(url: string, path: string, ca: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { ca, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("broker: operations", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await startTestEnvironment();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("rate-limits each workload: 429 with Retry-After once its bucket is empty", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { rateLimit: { ratePerSecond: 0.1, burst: 2 } };
      }),
    );
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await running.request());
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 429]);
    const limited = statuses[2]!;
    expect(limited.json.error).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(9);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(10);
    // Another instance of the same image has its own bucket.
    const other = await running.request({
      token: {
        mutateClaims: (claims) => {
          (claims.submods as { gce: { instance_id: string } }).gce.instance_id = "999";
        },
      },
    });
    expect(other.status).toBe(200);
  });

  it("answers 503 with Retry-After when Entra fails, without Entra's error text", async () => {
    // A separate Entra, so the failures queued here cannot reach other tests.
    const entra = await startLocalEntra({
      tenantId: TENANT_ID,
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }],
      tls: { cert: env.pki.serverCertPem, key: env.pki.serverKeyPem },
    });
    try {
      const running = await env.startBroker(
        env.config((config) => {
          config.upstreams!.azure!.main!.authorityHost = entra.authorityHost;
        }),
      );
      const failure = {
        error: "temporarily_unavailable",
        error_description: "AADSTS50000: UPSTREAM-DETAIL trace 1234",
      };
      entra.failNext({ status: 503, body: failure, count: 10 });
      const first = await running.request();
      expect(first.status).toBe(503);
      expect(first.json.error).toBe("upstream_unavailable");
      expect(first.text).not.toMatch(/AADSTS|UPSTREAM-DETAIL|temporarily_unavailable/);
      expect(Number(first.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      // While the cache backs off, workloads get 503 at once, with the backoff as Retry-After.
      const calls = entra.tokenRequests;
      const second = await running.request();
      expect(second.status).toBe(503);
      expect(entra.tokenRequests).toBe(calls);
      expect(Number(second.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(running.logs.lines.join("\n")).not.toContain(CLIENT_SECRET);
    } finally {
      await entra.close();
    }
  });

  it("answers 503 verifier_unavailable when the issuer's keys cannot be fetched", async () => {
    env.emulator.failNextJwks({ status: 500, body: "boom", count: 3 });
    const running = await env.startBroker();
    const res = await running.request();
    env.emulator.clearFaults();
    expect(res.status).toBe(503);
    expect(res.json.error).toBe("verifier_unavailable");
    expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
  });

  it("with mTLS required, refuses a workload without a client certificate and serves one with it", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.tls.clientCaFile = env.pki.caPath;
      }),
    );
    await expect(running.request()).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    const res = await running.request({
      tls: { ca: env.pki.caPem, cert: env.pki.clientCertPem, key: env.pki.clientKeyPem },
    });
    expect(res.status).toBe(200);
  });

  it("serves /healthz, and Prometheus /metrics on the metrics listener", async () => {
    const running = await env.startBroker();
    await running.request();
    await running.request({ body: { provider: "azure", scope: "https://management.azure.com/.default" } });
    await running.request({ nonces: () => undefined });
    await running.request();
    const health = await get(running.url, "/healthz", env.pki.caPem);
    expect(health).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    // Metrics have their own (plain-HTTP, loopback) listener.
    const metrics = await fetch(`${running.broker.metricsAddress!.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = (await metrics.text()).split("\n");
    expect(lines).toContain('confspace_broker_requests_total{outcome="ok",provider="azure"} 2');
    expect(lines).toContain('confspace_broker_requests_total{outcome="access_denied",provider="azure"} 1');
    expect(lines).toContain('confspace_broker_requests_total{outcome="invalid_token",provider="azure"} 1');
    expect(lines).toContain('confspace_broker_verification_failures_total{check="missing_claim"} 1');
    expect(lines).toContain('confspace_broker_upstream_cache_total{provider="azure",result="hit"} 1');
    expect(lines).toContain('confspace_broker_upstream_cache_total{provider="azure",result="miss"} 1');
    expect(lines).toContain("# TYPE confspace_broker_upstream_duration_seconds histogram");
    expect(lines).toContain('confspace_broker_upstream_duration_seconds_count{provider="azure",outcome="ok"} 1');
    expect(
      lines.some((l) =>
        /^confspace_broker_upstream_duration_seconds_bucket\{provider="azure",outcome="ok",le="\+Inf"\} 1$/.test(l),
      ),
    ).toBe(true);
    expect(lines).toContain("confspace_broker_inflight_requests 0");
  });

  it("finishes an in-flight request on close (Connection: close) and refuses new connections", async () => {
    const running = await env.startBroker();
    env.sts.delayNext(500);
    const inflight = running.request({ body: { provider: "aws", role_arn: ROLE_ARN } });
    await expect.poll(() => running.broker.metrics.render(), { timeout: 5_000 }).toContain(INFLIGHT_ONE);
    const closed = running.broker.close({ timeoutMs: 5_000 });
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe("close");
    await closed;
    await expect(connectWorkload(running.url, AUDIENCE, env.tls)).rejects.toMatchObject({ code: "ERR_CONNECT_FAILED" });
  });

  it("cuts a request that outlives the shutdown deadline", async () => {
    const running = await env.startBroker();
    env.sts.delayNext(3_000);
    const inflight = running.request({ body: { provider: "aws", role_arn: ROLE_ARN } }).then(
      (r) => r.status,
      (error: { code?: string }) => error.code,
    );
    await expect.poll(() => running.broker.metrics.render(), { timeout: 5_000 }).toContain(INFLIGHT_ONE);
    const started = Date.now();
    await running.broker.close({ timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await inflight).toBe("ERR_BOUND_CONNECTION_CLOSED");
    expect(running.logs.lines.some((l) => l.includes("shutdown deadline reached"))).toBe(true);
  });

  it("logs a request whose client went away before the answer as client_closed, without an error", async () => {
    const running = await env.startBroker();
    env.sts.delayNext(1_500);
    const connection = await connectWorkload(running.url, AUDIENCE, env.tls);
    const { brokerNonce } = await import("@confspace/ekm-tls");
    const token = await env.emulator.mintToken({ audience: AUDIENCE, nonces: [brokerNonce(connection.ekm)] });
    await expect(
      connection.request({
        method: "POST",
        path: "/v1/token",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ attestation_token: token, provider: "aws", role_arn: ROLE_ARN }),
        timeoutMs: 300,
      }),
    ).rejects.toMatchObject({ code: "ERR_REQUEST_TIMEOUT" });
    await expect
      .poll(() => running.logs.records().find((r) => r.msg === "token request"), { timeout: 5_000 })
      .toMatchObject({ outcome: "client_closed", status: 499 });
    expect(running.logs.records().some((r) => r.level === "error")).toBe(false);
  });

  it("logs one line per request with outcome, check, grant and duration, and never a secret or token", async () => {
    const running = await env.startBroker();
    const ok = await running.request();
    const aws = await running.request({ body: { provider: "aws", role_arn: ROLE_ARN } });
    const replay = await running.request({ rawToken: ok.token });
    const denied = await running.request({
      body: { provider: "azure", scope: "https://management.azure.com/.default" },
    });
    expect([ok.status, aws.status, replay.status, denied.status]).toEqual([200, 200, 401, 403]);

    const records = running.logs.records().filter((r) => r.msg === "token request");
    expect(records).toHaveLength(4);
    expect(records[0]).toMatchObject({
      level: "info",
      outcome: "ok",
      status: 200,
      grant: "storage-reader",
      provider: "azure",
    });
    expect(records[0]!.workload).toMatchObject({ imageDigest: env.imageDigest, projectId: "confspace-emulator" });
    expect(typeof records[0]!.durationMs).toBe("number");
    expect(records[1]).toMatchObject({ outcome: "ok", grant: "storage-reader", provider: "aws", roleArn: ROLE_ARN });
    expect(records[2]).toMatchObject({ level: "warn", outcome: "invalid_token", check: "nonce" });
    expect(records[3]).toMatchObject({ level: "warn", outcome: "access_denied" });

    const secrets = [
      CLIENT_SECRET,
      AWS_SECRET_ACCESS_KEY,
      ok.token,
      aws.token,
      ok.json.access_token as string,
      aws.json.secret_access_key as string,
      aws.json.session_token as string,
    ];
    const all = running.logs.lines.join("\n");
    for (const secret of secrets) expect(all).not.toContain(secret);
    // Nor a recognisable piece of one (JWT signature segment).
    expect(all).not.toContain((ok.json.access_token as string).split(".")[2]!);
  });
});
