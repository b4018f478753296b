// A bounded, loopback-only flood against a broker child process running under a
// file-descriptor limit (`prlimit --nofile=N`): idle TCP connections that never send a
// ClientHello, slowloris TLS connections that trickle header lines, and garbage-token
// requests, all from attacker addresses in 127.0.0.0/8, while a legitimate workload on
// 127.0.0.1 keeps asking for tokens over bound connections. Stops by itself after
// `durationMs`. Shared by the test suite (small) and `pnpm bench` (full size).
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Agent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrokerConfig } from "../src/index.js";
import { ENV, type TestEnvironment } from "./harness.js";
import { GARBAGE, openIdle, openTls } from "./raw-clients.js";
import { workloadRequest } from "./workload.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "../src/cli.ts");

export interface FloodOptions {
  /** Soft and hard descriptor limit of the broker process. */
  fileDescriptorLimit: number;
  /** Broker `limits` (connection caps, timeouts) for the run. */
  limits: NonNullable<BrokerConfig["limits"]>;
  idleConnections: number;
  slowlorisConnections: number;
  garbageRequests: number;
  durationMs: number;
  /** Attacker source addresses per kind; keep their total × maxConnectionsPerSource below maxConnections. */
  sources: { idle: number; slowloris: number; garbage: number };
  /** Legitimate bound requests started per second (from 127.0.0.1, under its source rate limit). Default 10. */
  legitimatePerSecond?: number;
}

export interface FloodResult {
  legitimate: { sent: number; ok: number; failures: string[]; p50Ms: number; p99Ms: number; maxMs: number };
  attack: { idleOpened: number; slowlorisOpened: number; garbageSent: number; garbageStatuses: Record<string, number> };
  /** Most descriptors the broker process held at once (sampled every 100 ms). */
  brokerMaxFds: number;
  /** CPU seconds the broker process and this (client) process used during the flood. */
  cpuSeconds: { broker: number; clients: number };
  /** The broker's connection metrics at the end (`…_refused_total` by reason). */
  refused: Record<string, number>;
}

/** How soon an attacker reopens a connection the broker closed: 0.5–1.5 s. */
const reconnectDelay = () => 500 + Math.random() * 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** Starts the broker CLI under `prlimit`, floods it, and reports what the legitimate workload saw. */
export async function runFlood(env: TestEnvironment, options: FloodOptions): Promise<FloodResult> {
  const configPath = join(env.pki.dir, `flood-${process.pid}-${Date.now()}.json`);
  const config = env.config((c) => {
    c.limits = { ...c.limits, sourceRateLimit: { ratePerSecond: 20, burst: 100 }, ...options.limits };
  });
  await writeFile(configPath, JSON.stringify(config));
  const broker = await startBrokerProcess(configPath, options.fileDescriptorLimit, env.pki.caPath);
  const legitimate = () =>
    workloadRequest(broker.url, {
      audience: config.attestation.audience,
      mint: (o) => env.emulator.mintToken(o),
      tls: env.tls,
    });
  // Warm up as a running broker is (issuer keys fetched, Azure token cached, code compiled).
  for (let i = 0; i < 5; i++) await legitimate();
  const stopAt = Date.now() + options.durationMs;
  const brokerCpuBefore = cpuSeconds(broker.child.pid);
  const clientCpuBefore = process.cpuUsage();
  const attackers: Socket[] = [];
  let brokerMaxFds = 0;
  const sampler = setInterval(() => {
    brokerMaxFds = Math.max(brokerMaxFds, countFds(broker.child.pid));
  }, 100);
  try {
    const port = Number(new URL(broker.url).port);
    const source = (kind: number, i: number, count: number) => `127.0.${kind}.${1 + (i % count)}`;
    const result: FloodResult["attack"] = { idleOpened: 0, slowlorisOpened: 0, garbageSent: 0, garbageStatuses: {} };

    // Idle TCP: keep `idleConnections` open, reopening whatever the broker closes.
    const idleLoop = async (i: number) => {
      while (Date.now() < stopAt) {
        const socket = await openIdle(port, source(1, i, options.sources.idle));
        attackers.push(socket);
        result.idleOpened += 1;
        await new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once("close", () => resolve());
          setTimeout(resolve, Math.max(0, stopAt - Date.now()));
        });
        await sleep(reconnectDelay());
      }
    };
    // Slowloris: finish the handshake, then send one header line a second.
    const slowLoop = async (i: number) => {
      while (Date.now() < stopAt) {
        const socket = await openTls(port, env.pki.caPem, source(2, i, options.sources.slowloris));
        attackers.push(socket);
        result.slowlorisOpened += 1;
        if (!socket.destroyed) socket.write("POST /v1/token HTTP/1.1\r\nHost: localhost\r\n");
        while (!socket.destroyed && Date.now() < stopAt) {
          await sleep(1_000);
          if (!socket.destroyed) socket.write(`X-Slow-${Date.now()}: 1\r\n`);
        }
        await sleep(reconnectDelay());
      }
    };
    // Garbage tokens, paced evenly over the run, a few keep-alive connections per source.
    const agents = Array.from(
      { length: options.sources.garbage },
      (_, i) => new Agent({ keepAlive: true, maxSockets: 8, localAddress: source(3, i, options.sources.garbage) }),
    );
    const garbageLoop = async () => {
      const started = Date.now();
      const pending: Promise<void>[] = [];
      while (result.garbageSent < options.garbageRequests && Date.now() < stopAt) {
        // Catch up with the schedule: timers run late on a busy machine.
        const due = Math.ceil(((Date.now() - started) / options.durationMs) * options.garbageRequests);
        for (; result.garbageSent < Math.min(due, options.garbageRequests); result.garbageSent++) {
          const agent = agents[result.garbageSent % agents.length]!;
          pending.push(
            garbage(broker.url, env.pki.caPem, agent).then((status) => {
              result.garbageStatuses[status] = (result.garbageStatuses[status] ?? 0) + 1;
            }),
          );
        }
        await sleep(20);
      }
      await Promise.all(pending);
    };
    // The legitimate workload: bound requests back to back until the end.
    const latencies: number[] = [];
    const failures: string[] = [];
    let sent = 0;
    const one = async () => {
      sent += 1;
      const started = performance.now();
      try {
        const res = await legitimate();
        if (res.status === 200) latencies.push(performance.now() - started);
        else failures.push(`HTTP ${res.status} ${String(res.json.error)}`);
      } catch (error) {
        failures.push(String((error as { code?: string }).code ?? error));
      }
    };
    // Paced, not back to back: a fleet's refreshes arrive at a rate, whatever the flood does.
    const legitLoop = async () => {
      await sleep(Math.min(1_000, options.durationMs / 10)); // let the flood build up first
      const pending: Promise<void>[] = [];
      const perSecond = options.legitimatePerSecond ?? 10;
      const started = Date.now();
      while (Date.now() < stopAt) {
        // Catch up with the schedule: timers run late on a busy machine.
        const due = Math.ceil(((Date.now() - started) / 1_000) * perSecond);
        while (sent < due) pending.push(one());
        await sleep(20);
      }
      await Promise.all(pending);
    };

    await Promise.all([
      ...Array.from({ length: options.idleConnections }, (_, i) => idleLoop(i)),
      ...Array.from({ length: options.slowlorisConnections }, (_, i) => slowLoop(i)),
      garbageLoop(),
      legitLoop(),
    ]);
    for (const agent of agents) agent.destroy();
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const cpu = {
      broker: cpuSeconds(broker.child.pid) - brokerCpuBefore,
      clients: (clientCpu.user + clientCpu.system) / 1e6,
    };
    const refused = await scrapeRefused(broker.metricsUrl);
    latencies.sort((a, b) => a - b);
    return {
      legitimate: {
        sent,
        ok: latencies.length,
        failures,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        maxMs: latencies.at(-1) ?? 0,
      },
      attack: result,
      brokerMaxFds,
      cpuSeconds: cpu,
      refused,
    };
  } finally {
    clearInterval(sampler);
    for (const socket of attackers) socket.destroy();
    await broker.stop();
  }
}

function garbage(url: string, ca: string, agent: Agent): Promise<string> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      new URL("/v1/token", url),
      { method: "POST", ca, servername: "localhost", agent, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(String(res.statusCode)));
        res.on("error", () => resolve("error"));
      },
    );
    req.setTimeout(5_000, () => req.destroy());
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    req.end(GARBAGE);
  });
}

interface BrokerProcess {
  child: ChildProcess;
  url: string;
  metricsUrl: string;
  stop(): Promise<void>;
}

async function startBrokerProcess(configPath: string, nofile: number, caPath: string): Promise<BrokerProcess> {
  const child = spawn(
    "prlimit",
    [`--nofile=${nofile}:${nofile}`, "--", process.execPath, "--import", "tsx", CLI, "--config", configPath],
    { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "", ...ENV, NODE_EXTRA_CA_CERTS: caPath } },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  // Keep only the start of stderr (the listening line); the flood logs a line per request.
  child.stderr!.on("data", (chunk: Buffer) => {
    if (stderr.length < 65_536) stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 20_000;
  while (!/listening on https:\/\/\S+/.test(stdout) || !/"metrics":"http:\/\/[^"]+"/.test(stderr)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the broker did not start: ${stderr.slice(0, 2_000)}`);
    }
    await sleep(50);
  }
  return {
    child,
    url: /listening on (https:\/\/\S+)/.exec(stdout)![1]!,
    metricsUrl: /"metrics":"(http:\/\/[^"]+)"/.exec(stderr)![1]!,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** utime + stime of a process, seconds (Linux clock ticks are 100 Hz). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function countFds(pid: number | undefined): number {
  try {
    return pid === undefined ? 0 : readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

async function scrapeRefused(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const refused: Record<string, number> = {};
  for (const match of text.matchAll(/^confspace_broker_connections_refused_total\{reason="(\w+)"\} (\d+)$/gm)) {
    refused[match[1]!] = Number(match[2]);
  }
  return refused;
}
