// Broker throughput with a NEW TLS 1.3 connection per request — connect, read the EKM,
// mint an attestation token bound to it (emulator, local RS256 signing), POST /v1/token,
// full verification, Azure token from the broker's cache — against a bare Node TLS 1.3
// server that only does the handshake and one tiny HTTP response, on this machine, in one
// run. Each server runs in its own worker thread (its own event loop, as a separate
// process would), the clients in the main thread.
//
// `benchBroker()` is called by scripts/bench.ts; standalone: node --import tsx scripts/bench-broker.ts
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { createTestPki, startLocalEntra, type TestPki, trustCaInProcess } from "@confspace/testing";
import { BROKER_EKM_LABEL, BROKER_EKM_LENGTH, brokerNonce } from "../packages/ekm-tls/src/index.ts";
import { startEmulator } from "../packages/emulator/src/index.ts";
import type { BrokerConfig } from "../packages/token-broker/src/index.ts";

const REQUESTS = 2_000;
/** Measured requests are split in rounds that alternate bare and broker, so drift hits both alike. */
const ROUNDS = 4;
const WARMUP = 200;
const CONCURRENCY = 16;
const TARGET = 0.7;
const AUDIENCE = "https://broker.bench.local";
const SCOPE = "https://storage.azure.com/.default";
const TENANT = "00000000-0000-0000-0000-0000000000b1";
const CLIENT = "bench-broker-client";
const SECRET = "bench-broker-secret";

interface ServerSpec {
  kind: "broker" | "bare";
  certFile: string;
  keyFile: string;
  caPem: string;
  config?: BrokerConfig;
}

interface RunResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  /** Server thread busy time per request, ms (event loop utilization × wall time / requests). */
  serverBusyMs: number;
  failures: number;
}

// ---------------------------------------------------------------- server side (worker)

async function serve(spec: ServerSpec): Promise<void> {
  const port = parentPort!;
  let close: () => Promise<void>;
  let address: number;
  if (spec.kind === "bare") {
    const server = createServer(
      {
        cert: readFileSync(spec.certFile),
        key: readFileSync(spec.keyFile),
        minVersion: "TLSv1.3",
        maxVersion: "TLSv1.3",
      },
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": 11 });
        res.end('{"ok":true}');
      },
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    address = (server.address() as AddressInfo).port;
    close = () => new Promise((done) => server.close(() => done()));
  } else {
    trustCaInProcess(spec.caPem); // the broker's MSAL reaches the local Entra over TLS
    const { createBroker } = await import("../packages/token-broker/src/index.ts");
    const broker = createBroker(spec.config!, { env: { BENCH_SECRET: SECRET } });
    address = (await broker.listen()).port;
    close = () => broker.close({ timeoutMs: 1_000 });
  }
  let mark = performance.eventLoopUtilization();
  port.on("message", async (message: string) => {
    if (message === "mark") {
      mark = performance.eventLoopUtilization();
      port.postMessage({ type: "marked" });
    } else if (message === "busy") {
      const elu = performance.eventLoopUtilization(mark);
      port.postMessage({ type: "busy", activeMs: elu.active });
    } else if (message === "stop") {
      await close();
      port.postMessage({ type: "stopped" });
      port.close();
    }
  });
  port.postMessage({ type: "ready", port: address });
}

// ---------------------------------------------------------------- client side (main thread)

class ServerThread {
  readonly #worker: Worker;
  readonly #messages: Array<(message: { type: string; port?: number; activeMs?: number }) => void> = [];

  constructor(spec: ServerSpec) {
    this.#worker = new Worker(new URL(import.meta.url), { workerData: { benchBrokerServer: spec } });
    this.#worker.on("message", (message) => this.#messages.shift()?.(message));
    this.#worker.on("error", (error) => {
      console.error("bench server thread failed:", error);
      process.exitCode = 1;
    });
  }

  #next(send?: string) {
    const reply = new Promise<{ type: string; port?: number; activeMs?: number }>((r) => this.#messages.push(r));
    if (send !== undefined) this.#worker.postMessage(send);
    return reply;
  }

  ready = () => this.#next().then((m) => m.port!);
  mark = () => this.#next("mark");
  busy = () => this.#next("busy").then((m) => m.activeMs!);
  stop = async () => {
    await this.#next("stop");
    await this.#worker.terminate();
  };
}

/** One request on a new TLS 1.3 connection; resolves with the HTTP status. */
function oneRequest(port: number, ca: string, body: ((ekm: Buffer) => Promise<string>) | undefined): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca,
      servername: "localhost",
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      ALPNProtocols: ["http/1.1"],
    });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      socket.end();
      const head = Buffer.concat(chunks).toString("latin1", 0, 16);
      resolvePromise(Number(head.slice(9, 12)));
    });
    socket.once("secureConnect", async () => {
      if (body === undefined) {
        socket.write("GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
        return;
      }
      try {
        const ekm = socket.exportKeyingMaterial(BROKER_EKM_LENGTH, BROKER_EKM_LABEL, Buffer.from(AUDIENCE));
        const payload = await body(ekm);
        // write, not end: a half-closed connection is closed by Node's HTTP server before
        // an asynchronous handler answers. The server closes (Connection: close).
        socket.write(
          `POST /v1/token HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n` +
            `content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
        );
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
  });
}

interface Tally {
  latencies: number[];
  seconds: number;
  busyMs: number;
  count: number;
  failures: number;
}

const tally = (): Tally => ({ latencies: [], seconds: 0, busyMs: 0, count: 0, failures: 0 });

/** `count` requests with CONCURRENCY lanes, added to `into`; the server's busy time too when `measure`. */
async function run(
  server: ServerThread,
  port: number,
  ca: string,
  body: ((ekm: Buffer) => Promise<string>) | undefined,
  count: number,
  into: Tally,
  measure: boolean,
): Promise<void> {
  let issued = 0;
  if (measure) await server.mark();
  const started = performance.now();
  const lane = async () => {
    while (issued < count) {
      issued += 1;
      const t0 = performance.now();
      const status = await oneRequest(port, ca, body).catch((error: Error) => {
        if (process.env.BENCH_DEBUG) console.error(error.message);
        return 0;
      });
      into.latencies.push(performance.now() - t0);
      if (status !== 200) {
        into.failures += 1;
        if (process.env.BENCH_DEBUG) console.error(`status ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  into.seconds += (performance.now() - started) / 1000;
  into.count += count;
  if (measure) into.busyMs += await server.busy();
}

function summarize(name: string, t: Tally): RunResult {
  const sorted = [...t.latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    name,
    rps: t.count / t.seconds,
    p50: at(0.5),
    p99: at(0.99),
    serverBusyMs: t.busyMs / t.count,
    failures: t.failures,
  };
}

/**
 * Runs the broker benchmark and prints requests/s, p50/p99 latency and server busy time
 * per request for the broker and a bare TLS 1.3 server, and the ratio against the
 * ≥ 70 % target. Sets `process.exitCode = 1` when a request fails.
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
    limits: { rateLimit: { ratePerSecond: 1e6, burst: 1_000_000 } },
  };
  const base = { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath, caPem: pki.caPem };
  const bare = new ServerThread({ kind: "bare", ...base });
  const broker = new ServerThread({ kind: "broker", ...base, config });
  try {
    const [barePort, brokerPort] = await Promise.all([bare.ready(), broker.ready()]);
    const brokerBody = async (ekm: Buffer) =>
      JSON.stringify({
        attestation_token: await emulator.mintToken({ audience: AUDIENCE, nonces: [brokerNonce(ekm)] }),
        provider: "azure",
        scope: SCOPE,
      });

    // Warm up both (JIT, JWKS fetch, the one Entra call), then measure in alternating rounds.
    // Both servers get the identical client workload (connect, read the EKM, mint a bound
    // token, POST it), so the ratio measures the servers, not the load generator sharing
    // their two cores; the bare server answers without looking at the request.
    await run(bare, barePort, pki.caPem, brokerBody, WARMUP, tally(), false);
    const warm = tally();
    await run(broker, brokerPort, pki.caPem, brokerBody, WARMUP, warm, false);
    if (warm.failures > 0) throw new Error(`broker warm-up: ${warm.failures} requests failed`);
    const bareTally = tally();
    const brokerTally = tally();
    for (let round = 0; round < ROUNDS; round++) {
      await run(bare, barePort, pki.caPem, brokerBody, REQUESTS / ROUNDS, bareTally, true);
      await run(broker, brokerPort, pki.caPem, brokerBody, REQUESTS / ROUNDS, brokerTally, true);
    }
    const bareResult = summarize("bare TLS 1.3 server (handshake + tiny response)", bareTally);
    const brokerResult = summarize("broker POST /v1/token (verify + cached token)", brokerTally);

    const width = Math.max(bareResult.name.length, brokerResult.name.length);
    for (const r of [bareResult, brokerResult]) {
      console.log(
        `  ${r.name.padEnd(width)}  ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   ` +
          `server busy ${r.serverBusyMs.toFixed(3)} ms/req${r.failures > 0 ? `   FAILED ${r.failures}` : ""}`,
      );
    }
    const ratio = brokerResult.rps / bareResult.rps;
    const serverRatio = bareResult.serverBusyMs / brokerResult.serverBusyMs;
    console.log(
      `  broker / bare: ${(ratio * 100).toFixed(1)} % of the bare handshake rate (end to end, same client work for both); ` +
        `target ≥ ${TARGET * 100} % → ${ratio >= TARGET ? "(met)" : "(NOT met)"}`,
    );
    console.log(
      `  server capacity (busy time per request, server thread only): broker = ${(serverRatio * 100).toFixed(1)} % of bare`,
    );
    if (entra.tokenRequests !== 1)
      console.log(`  note: ${entra.tokenRequests} Entra calls (expected 1: the token is cached)`);
    if (bareResult.failures + brokerResult.failures > 0) process.exitCode = 1;
  } finally {
    await Promise.allSettled([bare.stop(), broker.stop()]);
    await Promise.allSettled([emulator.stop(), entra.close()]);
    untrust();
    await pki.cleanup();
  }
}

if (!isMainThread && (workerData as { benchBrokerServer?: ServerSpec } | null)?.benchBrokerServer) {
  await serve((workerData as { benchBrokerServer: ServerSpec }).benchBrokerServer);
} else if (
  isMainThread &&
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  console.log(`confspace broker bench — Node ${process.version}, ${process.platform}/${process.arch}`);
  await benchBroker();
}
