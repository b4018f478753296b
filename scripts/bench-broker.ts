import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, Worker } from "node:worker_threads";
import { createTestPki, startLocalEntra, type TestPki, trustCaInProcess } from "@confspace/testing";
import { brokerNonce } from "../packages/ekm-tls/src/index.ts";
import { startEmulator } from "../packages/emulator/src/index.ts";
import type { BrokerConfig } from "../packages/token-broker/src/index.ts";
import type { ServerSpec, ServerTime } from "./bench-broker-server.ts";
import { benchWorkers } from "./bench-broker-workers.ts";
import { oneRequest, quantile, runLanes, type Tally, tally } from "./bench-tls-client.ts";

const REQUESTS = 2_000;
/** Measured requests are split in rounds that alternate bare and broker, so drift hits both alike. */
const ROUNDS = 4;
const WARMUP = 200;
const CONCURRENCY = 16;
/** Broker capacity (server CPU time per request) as a share of the bare server's. */
const TARGET = 0.8;
const AUDIENCE = "https://broker.bench.local";
const SCOPE = "https://storage.azure.com/.default";
const TENANT = "00000000-0000-0000-0000-0000000000b1";
const CLIENT = "bench-broker-client";
const SECRET = "bench-broker-secret";

// ---------------------------------------------------------------- client side (main thread)

class ServerThread {
  readonly #worker: Worker;
  readonly #messages: Array<(message: { type: string; port?: number } & Partial<ServerTime>) => void> = [];

  constructor(spec: ServerSpec) {
    this.#worker = new Worker(new URL("./bench-broker-server.ts", import.meta.url), {
      workerData: { benchBrokerServer: spec },
    });
    this.#worker.on("message", (message) => this.#messages.shift()?.(message));
    this.#worker.on("error", (error) => {
      console.error("bench server thread failed:", error);
      process.exitCode = 1;
    });
  }

  #next(send?: string) {
    const reply = new Promise<{ type: string; port?: number } & Partial<ServerTime>>((r) => this.#messages.push(r));
    if (send !== undefined) this.#worker.postMessage(send);
    return reply;
  }

  ready = () => this.#next().then((m) => m.port!);
  mark = () => this.#next("mark");
  busy = () => this.#next("busy").then((m): ServerTime => ({ activeMs: m.activeMs!, cpuMs: m.cpuMs! }));
  #stopped: Promise<void> | undefined;
  /** Idempotent. */
  stop = () => {
    this.#stopped ??= this.#next("stop").then(async () => {
      await this.#worker.terminate();
    });
    return this.#stopped;
  };
}

interface Measured {
  name: string;
  tally: Tally;
  time: ServerTime;
}

/** `count` requests, added to `into`, with the server's time when `measure`. */
async function run(
  server: ServerThread,
  request: () => Promise<number>,
  count: number,
  into: Measured,
  measure: boolean,
): Promise<void> {
  if (measure) await server.mark();
  await runLanes(request, count, CONCURRENCY, into.tally);
  if (measure) {
    const time = await server.busy();
    into.time.activeMs += time.activeMs;
    into.time.cpuMs += time.cpuMs;
  }
}

const measured = (name: string): Measured => ({ name, tally: tally(), time: { activeMs: 0, cpuMs: 0 } });

/**
 * Runs the broker benchmark: requests/s, p50/p99 latency and the server thread's CPU and
 * busy time per request for the broker and a bare TLS 1.3 server, the capacity ratio
 * against the ≥ 80 % target, then `--workers 1` vs `--workers 2`. Sets
 * `process.exitCode = 1` when a request fails.
 */
export async function benchBroker(): Promise<void> {
  console.log(
    `\n# Broker: new TLS 1.3 connection per request (${REQUESTS} requests, concurrency ${CONCURRENCY}, loopback)`,
  );
  const pki: TestPki = await createTestPki();
  const untrust = trustCaInProcess(pki.caPem);
  const emulator = await startEmulator({ writeTokenFile: false });
  const entra = await startLocalEntra({
    tenantId: TENANT,
    clients: [{ clientId: CLIENT, clientSecret: SECRET }],
    tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
  });
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const config: BrokerConfig = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
    attestation: { audience: AUDIENCE, issuer: emulator.issuer, policy: { imageDigests: [digest] } },
    upstreams: {
      azure: {
        bench: {
          tenantId: TENANT,
          clientId: CLIENT,
          clientSecretEnv: "BENCH_SECRET",
          authorityHost: entra.authorityHost,
        },
      },
    },
    grants: [{ name: "bench", match: { imageDigests: [digest] }, azure: [{ tenant: "bench", scopes: [SCOPE] }] }],
    // One client address sends everything: lift both rate limits out of the way.
    limits: {
      rateLimit: { ratePerSecond: 1e6, burst: 1_000_000 },
      sourceRateLimit: { ratePerSecond: 1e6, burst: 1_000_000 },
    },
    metrics: { host: "127.0.0.1", port: 0 },
  };
  const base = { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath, caPem: pki.caPem };
  const bare = new ServerThread({ kind: "bare", ...base });
  const broker = new ServerThread({ kind: "broker", ...base, config, env: { BENCH_SECRET: SECRET } });
  const floor = new ServerThread({ kind: "verify", ...base, config });
  let failures = 0;
  try {
    const [barePort, brokerPort, floorPort] = await Promise.all([bare.ready(), broker.ready(), floor.ready()]);
    const body = async (ekm: Buffer) =>
      JSON.stringify({
        attestation_token: await emulator.mintToken({ audience: AUDIENCE, nonces: [brokerNonce(ekm)] }),
        provider: "azure",
        scope: SCOPE,
      });
    // The bare server answers without looking at the request: the same client work for
    // both, so the comparison measures the servers, not the load generator.
    const toBare = () => oneRequest(barePort, pki.caPem, AUDIENCE, body);
    const toBroker = () => oneRequest(brokerPort, pki.caPem, AUDIENCE, body);
    const toFloor = () => oneRequest(floorPort, pki.caPem, AUDIENCE, body);

    // Warm up both (JIT, JWKS fetch, the one Entra call), then measure in alternating rounds.
    await run(bare, toBare, WARMUP, measured("warm-up"), false);
    const warm = measured("warm-up");
    await run(broker, toBroker, WARMUP, warm, false);
    await run(floor, toFloor, WARMUP, warm, false);
    if (warm.tally.failures > 0) throw new Error(`broker warm-up: ${warm.tally.failures} requests failed`);
    const bareRun = measured("bare TLS 1.3 server (handshake + tiny response)");
    const brokerRun = measured("broker POST /v1/token (verify + cached token)");
    const floorRun = measured("bare + token verification only (the floor)");
    for (let round = 0; round < ROUNDS; round++) {
      await run(bare, toBare, REQUESTS / ROUNDS, bareRun, true);
      await run(broker, toBroker, REQUESTS / ROUNDS, brokerRun, true);
      await run(floor, toFloor, REQUESTS / ROUNDS, floorRun, true);
    }

    const runs = [bareRun, brokerRun, floorRun];
    const width = Math.max(...runs.map((r) => r.name.length));
    for (const r of runs) {
      const t = r.tally;
      console.log(
        `  ${r.name.padEnd(width)}  ${(t.count / t.seconds).toFixed(0).padStart(5)} req/s   p50 ${quantile(t, 0.5).toFixed(1)} ms   ` +
          `p99 ${quantile(t, 0.99).toFixed(1)} ms   server cpu ${(r.time.cpuMs / t.count).toFixed(3)} ms/req   ` +
          `busy ${(r.time.activeMs / t.count).toFixed(3)} ms/req${t.failures > 0 ? `   FAILED ${t.failures}` : ""}`,
      );
    }
    const perRequest = (r: Measured, key: keyof ServerTime) => r.time[key] / r.tally.count;
    const cpuRatio = perRequest(bareRun, "cpuMs") / perRequest(brokerRun, "cpuMs");
    const busyRatio = perRequest(bareRun, "activeMs") / perRequest(brokerRun, "activeMs");
    const endToEnd = brokerRun.tally.count / brokerRun.tally.seconds / (bareRun.tally.count / bareRun.tally.seconds);
    console.log(
      `  broker capacity = ${(cpuRatio * 100).toFixed(1)} % of bare by server CPU time per request ` +
        `(${(busyRatio * 100).toFixed(1)} % by busy time); target ≥ ${TARGET * 100} % → ${cpuRatio >= TARGET ? "(met)" : "(NOT met)"}`,
    );
    const floorRatio = perRequest(bareRun, "cpuMs") / perRequest(floorRun, "cpuMs");
    const brokerOwn = perRequest(brokerRun, "cpuMs") - perRequest(floorRun, "cpuMs");
    console.log(
      `  the floor (handshake + reading the body, the EKM nonce and the verifier, no broker) = ${(floorRatio * 100).toFixed(1)} % of bare; ` +
        `the broker's own work on top (rate limits, grant, token cache, reply, metrics) ${(brokerOwn * 1000).toFixed(0)} µs/req`,
    );
    console.log(`  end to end (client-bound, same client work): broker at ${(endToEnd * 100).toFixed(1)} % of bare`);
    if (entra.tokenRequests !== 1)
      console.log(`  note: ${entra.tokenRequests} Entra calls (expected 1: the token is cached)`);
    failures += bareRun.tally.failures + brokerRun.tally.failures + floorRun.tally.failures;
    await Promise.allSettled([bare.stop(), broker.stop(), floor.stop()]);

    const configPath = join(pki.dir, "bench-broker.json");
    await writeFile(configPath, JSON.stringify(config));
    failures += await benchWorkers({
      configPath,
      env: { BENCH_SECRET: SECRET, NODE_EXTRA_CA_CERTS: pki.caPath },
      caPem: pki.caPem,
      audience: AUDIENCE,
      body,
    });
    if (failures > 0) process.exitCode = 1;
  } finally {
    await Promise.allSettled([bare.stop(), broker.stop(), floor.stop()]);
    await Promise.allSettled([emulator.stop(), entra.close()]);
    untrust();
    await pki.cleanup();
  }
}

if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`confspace broker bench — Node ${process.version}, ${process.platform}/${process.arch}`);
  await benchBroker();
}
