// The broker under a flood, full size, as issue 11 states it: the broker CLI runs under
// `prlimit --nofile=1024` with its default connection limits; for 10 s it takes 1,100
// idle TCP connections that never send a ClientHello, 300 slowloris TLS connections and
// 2,000 garbage-token requests, while a workload on 127.0.0.1 asks for tokens over bound
// connections at 10 per second. Loopback only; stops by itself. Attackers use 8 loopback
// addresses, fewer than maxConnections / maxConnectionsPerSource (the README says why).
//
// `benchFlood()` is called by scripts/bench.ts; standalone: node --import tsx scripts/bench-flood.ts
import { fileURLToPath } from "node:url";
import { runFlood } from "../packages/token-broker/test/flood.ts";
import { startTestEnvironment } from "../packages/token-broker/test/harness.ts";

export async function benchFlood(): Promise<void> {
  console.log("\n# Broker under a flood: ulimit -n 1024, default connection limits, 10 s");
  const env = await startTestEnvironment();
  try {
    const result = await runFlood(env, {
      fileDescriptorLimit: 1024,
      limits: {},
      idleConnections: 1_100,
      slowlorisConnections: 300,
      garbageRequests: 2_000,
      durationMs: 10_000,
      sources: { idle: 4, slowloris: 2, garbage: 2 },
    });
    const { legitimate: l, attack: a } = result;
    const statuses = Object.entries(a.garbageStatuses)
      .map(([status, n]) => `${status}: ${n}`)
      .join(", ");
    console.log(
      `  attack: 1,100 idle TCP clients opened ${a.idleOpened} connections (each reopens 0.5–1.5 s after a close), ` +
        `300 slowloris clients ${a.slowlorisOpened}, ${a.garbageSent} garbage tokens (${statuses})`,
    );
    console.log(
      `  broker: at most ${result.brokerMaxFds} file descriptors of 1,024; connections refused at accept: ` +
        `${JSON.stringify(result.refused)}; CPU ${result.cpuSeconds.broker.toFixed(1)} s ` +
        `(the attacking and legitimate clients, same machine: ${result.cpuSeconds.clients.toFixed(1)} s)`,
    );
    const rate = l.sent === 0 ? 0 : l.ok / l.sent;
    console.log(
      `  legitimate bound requests: ${l.ok}/${l.sent} succeeded (${(rate * 100).toFixed(1)} %), ` +
        `p50 ${l.p50Ms.toFixed(0)} ms, p99 ${l.p99Ms.toFixed(0)} ms, max ${l.maxMs.toFixed(0)} ms`,
    );
    if (l.failures.length > 0) console.log(`  failures: ${[...new Set(l.failures)].join(", ")}`);
    const met = l.sent > 0 && l.ok === l.sent && l.p99Ms < 1_000;
    console.log(`  target: 100 % succeed, p99 under 1 s → ${met ? "(met)" : "(NOT met)"}`);
    if (!met) process.exitCode = 1;
  } finally {
    await env.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchFlood();
