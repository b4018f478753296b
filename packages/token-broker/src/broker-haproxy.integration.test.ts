import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningHaproxy, startHaproxy } from "../test/haproxy.js";
import { AUDIENCE, type RunningBroker, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { workloadRequest } from "../test/workload.js";

const DEFAULTS = `global
  maxconn 256

defaults
  timeout connect 2s
  timeout client 10s
  timeout server 10s
`;

describe("broker behind HAProxy", () => {
  let env: TestEnvironment;
  let brokers: RunningBroker[];
  const proxies: RunningHaproxy[] = [];

  beforeAll(async () => {
    env = await startTestEnvironment();
    brokers = [await env.startBroker(), await env.startBroker()];
  });
  afterAll(async () => {
    await Promise.allSettled(proxies.map((proxy) => proxy.stop()));
    await env?.stop();
  });

  const port = (running: RunningBroker) => new URL(running.url).port;
  const viaProxy = (proxy: RunningHaproxy) =>
    workloadRequest(`https://127.0.0.1:${proxy.port}`, {
      audience: AUDIENCE,
      mint: (options) => env.emulator.mintToken(options),
      tls: env.tls,
    });
  const served = (running: RunningBroker) =>
    running.broker.metrics.requests.value({ outcome: "ok", provider: "azure" });

  it("works through TCP passthrough (mode tcp, round robin over two brokers): the EKM binding survives", async () => {
    const proxy = await startHaproxy(
      env.pki.dir,
      "passthrough",
      (listen) => `${DEFAULTS}
frontend broker
  mode tcp
  bind 127.0.0.1:${listen}
  default_backend brokers

backend brokers
  mode tcp
  balance roundrobin
  server b1 127.0.0.1:${port(brokers[0]!)}
  server b2 127.0.0.1:${port(brokers[1]!)}
`,
    );
    proxies.push(proxy);
    const before = brokers.map(served);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await viaProxy(proxy));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(200));
    const after = brokers.map(served);
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
    expect(after[0]! - before[0]! + (after[1]! - before[1]!)).toBe(6);
  });

  it("fails closed behind a TLS-terminating proxy (nonce mismatch) and logs that a proxy is likely in front", async () => {
    const bundle = join(env.pki.dir, "haproxy.pem");
    await writeFile(bundle, `${env.pki.serverCertPem}\n${env.pki.serverKeyPem}`, { mode: 0o600 });
    const target = brokers[0]!;
    const proxy = await startHaproxy(
      env.pki.dir,
      "terminating",
      (listen) => `${DEFAULTS}
frontend broker
  mode http
  bind 127.0.0.1:${listen} ssl crt ${bundle} ssl-min-ver TLSv1.3 alpn http/1.1
  option forwardfor
  default_backend brokers

backend brokers
  mode http
  server b1 127.0.0.1:${port(target)} ssl verify required ca-file ${env.pki.caPath} sni str(localhost) ssl-min-ver TLSv1.3
`,
    );
    proxies.push(proxy);
    const res = await viaProxy(proxy);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: "invalid_token", check: "nonce" });
    const line = target.logs.records().find((r) => String(r.msg).startsWith("TLS binding mismatch"));
    expect(line).toBeDefined();
    expect(line!.msg).toContain("a TLS-terminating proxy is most likely in front of the broker");
    expect(line!.proxyHeaders).toEqual(["x-forwarded-for"]);
  });
});
