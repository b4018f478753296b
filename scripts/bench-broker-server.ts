// The servers of the broker bench, each in its own worker thread: the bare TLS 1.3 server,
// the floor (bare + the token verification alone) and the broker. Each reports its thread's
// CPU and busy time for the measured rounds to the bench (bench-broker.ts) over its port.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { trustCaInProcess } from "@confspace/testing";
import { brokerEkmOptions, brokerNonce, requestKeyingMaterial } from "../packages/ekm-tls/src/index.ts";
import type { BrokerConfig } from "../packages/token-broker/src/index.ts";

export interface ServerSpec {
  /** `verify`: the bare server plus the token verification alone, the floor of what the broker must do. */
  kind: "broker" | "bare" | "verify";
  certFile: string;
  keyFile: string;
  caPem: string;
  config?: BrokerConfig;
  /** Variables the broker's configuration names (`…Env`). */
  env?: Record<string, string>;
}

/** Server thread time spent on the measured requests, ms. */
export interface ServerTime {
  /** Busy: event loop utilization × wall time (includes time the thread waited for a core). */
  activeMs: number;
  /** CPU time of the thread. */
  cpuMs: number;
}

async function serve(spec: ServerSpec): Promise<void> {
  const port = parentPort!;
  let close: () => Promise<void>;
  let address: number;
  if (spec.kind === "bare" || spec.kind === "verify") {
    const handler = spec.kind === "bare" ? bareHandler : await verifyOnlyHandler(spec.config!);
    const server = createServer(
      {
        cert: readFileSync(spec.certFile),
        key: readFileSync(spec.keyFile),
        minVersion: "TLSv1.3",
        maxVersion: "TLSv1.3",
      },
      handler,
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    address = (server.address() as AddressInfo).port;
    close = () => new Promise((done) => server.close(() => done()));
  } else {
    trustCaInProcess(spec.caPem); // the broker's MSAL reaches the local Entra over TLS
    const { createBroker } = await import("../packages/token-broker/src/index.ts");
    const broker = createBroker(spec.config!, { env: spec.env ?? {} });
    address = (await broker.listen()).port;
    close = () => broker.close({ timeoutMs: 1_000 });
  }
  let mark = performance.eventLoopUtilization();
  let cpuMark = process.threadCpuUsage();
  const profiler = process.env.BENCH_PROFILE ? await startProfiler(spec.kind) : undefined;
  port.on("message", async (message: string) => {
    if (message === "mark") {
      mark = performance.eventLoopUtilization();
      cpuMark = process.threadCpuUsage();
      await profiler?.start();
      port.postMessage({ type: "marked" });
    } else if (message === "busy") {
      const elu = performance.eventLoopUtilization(mark);
      const cpu = process.threadCpuUsage(cpuMark);
      await profiler?.pause();
      port.postMessage({ type: "busy", activeMs: elu.active, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (message === "stop") {
      await profiler?.write();
      await close();
      port.postMessage({ type: "stopped" });
      port.close();
    }
  });
  port.postMessage({ type: "ready", port: address });
}

function bareHandler(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json", "content-length": 11 });
  res.end('{"ok":true}');
}

/**
 * The bare server's reply after what no broker can skip: read the body, recompute the
 * binding nonce from this connection and verify the token (RS256 signature, claims, the
 * broker's attestation policy) with the verifier the broker uses.
 */
async function verifyOnlyHandler(config: BrokerConfig) {
  const { createAttestationVerifier } = await import("../packages/attestation/src/verify/index.ts");
  const { audience, issuer, policy } = config.attestation;
  const verifier = createAttestationVerifier({ audience, issuer, policy: policy! });
  const ekmOptions = brokerEkmOptions(audience);
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { attestation_token: string };
        const nonce = brokerNonce(requestKeyingMaterial(req, ekmOptions));
        await verifier.verify(body.attestation_token, { nonce });
        bareHandler(req, res);
      } catch {
        res.writeHead(401).end();
      }
    });
  };
}

/**
 * BENCH_PROFILE=DIR: a CPU profile of the measured rounds of each server thread (the
 * inspector inside the worker), written to DIR/{broker,bare}-{round}.cpuprofile for DevTools.
 */
async function startProfiler(kind: string) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  const profiles: unknown[] = [];
  return {
    start: () => session.post("Profiler.start"),
    pause: async () => profiles.push((await session.post("Profiler.stop")).profile),
    write: async () => {
      const dir = process.env.BENCH_PROFILE!;
      for (const [i, profile] of profiles.entries())
        await writeFile(resolve(dir, `${kind}-${i}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

if (!isMainThread && (workerData as { benchBrokerServer?: ServerSpec } | null)?.benchBrokerServer) {
  await serve((workerData as { benchBrokerServer: ServerSpec }).benchBrokerServer);
}
