// Transit encrypt + decrypt round trips per second: the token broker's attested key service
// next to OpenBao's own transit engine, on this machine, in one run. Both servers run in
// their own process (the broker CLI with a `keyService` section, OpenBao as `bao server`) and
// get the identical client: node:https with one keep-alive Agent per server (mTLS, TLS 1.3,
// the same EC P-256 client certificate, CONCURRENCY sockets), the same 32-byte plaintext (a
// seal's key is 32 bytes), one round trip = PUT encrypt, then PUT decrypt of its answer,
// as OpenBao's `seal "transit"` sends them. Rounds alternate the two servers so drift hits
// both alike; the count is bounded (ROUND_TRIPS) and so is each run's time (MAX_SECONDS shared). Each
// server's CPU time per round trip is read from /proc (all its threads), since the load
// generator shares the cores.
//
// `benchTransit()` is called by scripts/bench.ts; standalone: node --import tsx scripts/bench-transit.ts
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type OpenBao, startOpenBao, type TestPki } from "../packages/local/src/index.ts";
import { createKeyServicePki, type KeyServicePki } from "../packages/token-broker/test/key-service-pki.ts";
import { quantile, type Tally, tally } from "./bench-tls-client.ts";

const ROUND_TRIPS = 2_000;
const WARMUP = 300;
const ROUNDS = 4;
const CONCURRENCY = 8;
/** Cap of the whole measurement; each of the 2 × ROUNDS runs gets an equal share of it. */
const MAX_SECONDS = 20;
const GRANT = "bench";
const KEY = "bench-key";
const PLAINTEXT = randomBytes(32).toString("base64");
const IMAGE = `sha256:${"0".repeat(64)}`;
const CLI = fileURLToPath(new URL("../packages/token-broker/src/cli.ts", import.meta.url));

interface Target {
  name: string;
  url: string;
  agent: Agent;
  headers: Record<string, string>;
  pid: () => number | undefined;
  tally: Tally;
  cpuMs: number;
}

const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime + stime of every thread of `pid`, ms. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** One PUT with a JSON body on the target's keep-alive agent; resolves with the parsed `data`. */
function put(target: Target, path: string, body: unknown): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${target.url}/v1/transit/${path}`,
      {
        method: "PUT",
        agent: target.agent,
        headers: { ...target.headers, "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${target.name} ${path}: ${res.statusCode}`));
            return;
          }
          try {
            resolve((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: Record<string, unknown> }).data);
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Encrypt, then decrypt the answer; checks the plaintext came back. */
async function roundTrip(target: Target): Promise<void> {
  const { ciphertext } = await put(target, `encrypt/${KEY}`, { plaintext: PLAINTEXT });
  const { plaintext } = await put(target, `decrypt/${KEY}`, { ciphertext });
  if (plaintext !== PLAINTEXT) throw new Error(`${target.name}: decrypt returned another plaintext`);
}

/** `count` round trips (at most `seconds`) from CONCURRENCY lanes; added to the target's tally and CPU time when `measure`. */
async function run(target: Target, count: number, measure: boolean, seconds: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  let issued = 0;
  const cpuBefore = measure ? processCpuMs(target.pid()) : 0;
  const started = performance.now();
  const latencies: number[] = [];
  let failures = 0;
  const lane = async () => {
    while (issued < count && performance.now() < deadline) {
      issued += 1;
      const t0 = performance.now();
      await roundTrip(target).catch((error: Error) => {
        failures += 1;
        if (process.env.BENCH_DEBUG) console.error(error.message);
      });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  if (!measure) return;
  target.cpuMs += processCpuMs(target.pid()) - cpuBefore;
  target.tally.seconds += (performance.now() - started) / 1000;
  target.tally.count += latencies.length;
  target.tally.failures += failures;
  target.tally.latencies.push(...latencies);
}

/** OpenBao's mTLS listener uses the key service PKI: the same CA, server certificate and client. */
function openBaoPki(pki: KeyServicePki, client: { certFile: string; keyFile: string }): TestPki {
  return {
    dir: pki.dir,
    caPem: pki.caPem,
    caPath: pki.caFile,
    caKeyPath: join(pki.dir, "workload-ca.key"),
    serverCertPem: readFileSync(pki.serverCertFile, "utf8"),
    serverKeyPem: readFileSync(pki.serverKeyFile, "utf8"),
    serverCertPath: pki.serverCertFile,
    serverKeyPath: pki.serverKeyFile,
    clientCertPem: readFileSync(client.certFile, "utf8"),
    clientKeyPem: readFileSync(client.keyFile, "utf8"),
    clientCertPath: client.certFile,
    clientKeyPath: client.keyFile,
    cleanup: () => pki.cleanup(),
  };
}

async function startOpenBaoTarget(pki: TestPki): Promise<{ bao: OpenBao; token: string }> {
  const bao = await startOpenBao({ tls: { pki, requireClientCert: true } });
  await bao.request({ method: "POST", path: `transit/keys/${KEY}` });
  await bao.request({
    method: "PUT",
    path: "sys/policies/acl/bench",
    body: { policy: `path "transit/+/${KEY}" { capabilities = ["update"] }` },
  });
  // A batch token: no token store write per request, the cheapest token OpenBao checks.
  const created = await bao.request({
    method: "POST",
    path: "auth/token/create",
    body: { policies: ["bench"], type: "batch", ttl: "1h" },
  });
  const token = (created.body?.auth as { client_token?: string } | undefined)?.client_token;
  if (token === undefined) throw new Error("OpenBao created no token");
  return { bao, token };
}

/** The broker CLI (`confspace-broker --config`) with a key service, in a child process; resolves with its port. */
async function startBrokerCli(pki: KeyServicePki): Promise<{ child: ChildProcess; port: number }> {
  const rootFile = join(pki.dir, "bench-root");
  await writeFile(rootFile, randomBytes(32).toString("base64"), { mode: 0o600 });
  const port = await freePort();
  const config = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
    // Never asked here (the bench's client certificate is made by openssl, not attested); a
    // closed loopback port, so the broker's start-up key fetch stays on this machine.
    attestation: {
      audience: "https://broker.bench.local",
      issuer: "http://127.0.0.1:1",
      policy: { imageDigests: [IMAGE] },
    },
    certificates: { caCertFile: pki.caFile, caKeyFile: join(pki.dir, "workload-ca.key") },
    keyService: { listen: { host: "127.0.0.1", port }, roots: [{ version: 1, file: rootFile }] },
    grants: [{ name: GRANT, match: { imageDigests: [IMAGE] }, certificate: { keys: [KEY] } }],
    metrics: { host: "127.0.0.1", port: 0 },
  };
  const configPath = join(pki.dir, "broker.json");
  await writeFile(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "--config", configPath, "--log-level", "error"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { PATH: process.env.PATH ?? "" },
  });
  let output = "";
  child.stdout!.setEncoding("utf8");
  for await (const chunk of child.stdout!) {
    output += chunk;
    if (/listening on https:\/\//.test(output)) return { child, port };
  }
  throw new Error(`confspace-broker exited before listening: ${output}`);
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const format = (n: number) => (n >= 1e3 ? `${(n / 1e3).toFixed(2)} k` : n.toFixed(0));

function report(targets: Target[]): void {
  const width = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets) {
    const rate = t.tally.count / t.tally.seconds;
    const cpu = t.cpuMs / t.tally.count;
    console.log(
      `  ${t.name.padEnd(width)}  ${format(rate).padStart(7)} round trips/s   p50 ${quantile(t.tally, 0.5).toFixed(2)} ms` +
        `   p99 ${quantile(t.tally, 0.99).toFixed(2)} ms   server CPU ${cpu.toFixed(3)} ms per round trip` +
        `   (${t.tally.count} round trips, ${t.tally.failures} failed)`,
    );
  }
  const [broker, bao] = targets as [Target, Target];
  const wall = broker.tally.count / broker.tally.seconds / (bao.tally.count / bao.tally.seconds);
  const cpu = bao.cpuMs / bao.tally.count / (broker.cpuMs / broker.tally.count);
  console.log(
    `  broker key service / OpenBao transit: ${wall.toFixed(2)}× the round trips per second, ` +
      `${cpu.toFixed(2)}× the round trips per server CPU second`,
  );
}

/**
 * Runs the transit benchmark and prints round trips per second for the broker's key service
 * and OpenBao's transit engine. Sets `process.exitCode = 1` when a round trip fails.
 */
export async function benchTransit(): Promise<void> {
  console.log(
    `\n# Transit encrypt + decrypt round trips: broker key service vs OpenBao transit engine` +
      ` (mTLS, keep-alive, ${CONCURRENCY} connections, 32-byte plaintext)`,
  );
  const pki = await createKeyServicePki();
  let bao: OpenBao | undefined;
  let keyService: ChildProcess | undefined;
  try {
    const client = await pki.client("bench-client", { uris: [`urn:confspace:grant:${GRANT}`] });
    const tlsClient = { ca: pki.caPem, cert: client.cert, key: client.key, minVersion: "TLSv1.3" as const };
    const agent = () => new Agent({ ...tlsClient, keepAlive: true, maxSockets: CONCURRENCY });
    const openBao = await startOpenBaoTarget(openBaoPki(pki, client));
    bao = openBao.bao;
    const started = await startBrokerCli(pki);
    keyService = started.child;
    const targets: Target[] = [
      {
        name: "broker key service (CLI)",
        url: `https://127.0.0.1:${started.port}`,
        agent: agent(),
        headers: {},
        pid: () => started.child.pid,
        tally: tally(),
        cpuMs: 0,
      },
      {
        name: `OpenBao ${openBao.bao.version} transit`,
        url: openBao.bao.address,
        agent: agent(),
        headers: { "x-vault-token": openBao.token },
        pid: () => openBao.bao.pid,
        tally: tally(),
        cpuMs: 0,
      },
    ];
    for (const target of targets) await run(target, WARMUP, false, MAX_SECONDS / 4);
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        await run(target, ROUND_TRIPS / ROUNDS, true, MAX_SECONDS / (2 * ROUNDS));
      }
    }
    report(targets);
    if (targets.some((t) => t.tally.failures > 0 || t.tally.count === 0)) process.exitCode = 1;
    for (const target of targets) target.agent.destroy();
  } finally {
    if (keyService !== undefined && keyService.exitCode === null) {
      keyService.kill("SIGTERM");
      await once(keyService, "exit");
    }
    await bao?.close();
    await pki.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchTransit();
