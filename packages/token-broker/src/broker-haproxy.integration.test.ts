import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
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

/** examples/broker/haproxy.cfg: what the example tells operators to run, so it is what is tested. */
const EXAMPLE_CFG = readFileSync(join(import.meta.dirname, "../../../examples/broker/haproxy.cfg"), "utf8");

/** A loopback port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

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

  const exampleEnv = (replicas: string[]) => (listen: number) => ({
    BROKER_LISTEN: `127.0.0.1:${listen}`,
    BROKER_1: replicas[0]!,
    BROKER_2: replicas[1]!,
    BROKER_CA_FILE: env.pki.caPath,
    BROKER_SNI: "localhost",
  });

  it("works through examples/broker/haproxy.cfg (TCP passthrough, round robin over two brokers): the EKM binding survives", async () => {
    const replicas = brokers.map((b) => `127.0.0.1:${port(b)}`);
    const proxy = await startHaproxy(env.pki.dir, "passthrough", () => EXAMPLE_CFG, exampleEnv(replicas));
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

  it("takes a replica that fails the example's /healthz check out of rotation; the verified checks keep the other in", async () => {
    const replicas = [`127.0.0.1:${port(brokers[0]!)}`, `127.0.0.1:${await closedPort()}`];
    const proxy = await startHaproxy(env.pki.dir, "health", () => EXAMPLE_CFG, exampleEnv(replicas));
    proxies.push(proxy);
    // fall 2 at inter 2s: down after about 4 s.
    const deadline = Date.now() + 10_000;
    while (!/broker2 is DOWN/.test(proxy.output()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(proxy.output()).toMatch(/Server brokers\/broker2 is DOWN/);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await viaProxy(proxy));
    expect(results.map((r) => r.status)).toEqual(Array(4).fill(200));
    // broker1 passed its TLS-verified /healthz checks throughout.
    expect(proxy.output()).not.toMatch(/broker1 is DOWN/);
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
