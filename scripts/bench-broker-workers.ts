// `confspace-broker --workers 1` against `--workers 2`: the real CLI in child processes,
// driven by this process with fixed concurrency, a new TLS 1.3 connection per request.
//
// The load generator shares this 2-core machine and costs about as much CPU per request
// as the broker (it mints an RS256 token and does the client side of a handshake), so the
// end-to-end rate cannot show what a second worker adds. The capacity figure is computed
// from the server's own CPU time instead: each process's CPU time per request, read from
// /proc/PID/stat (all threads) around the measured rounds. The server saturates when its
// busiest process fills one core or all its processes together fill every core:
// capacity = min(cores / Σ cpu per request, 1 / max cpu per request). The primary's work
// (accepting and handing over each connection) is counted, and an uneven spread over the
// workers shows as a busier process and a lower capacity.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { type BodyFor, oneRequest, quantile, runLanes, type Tally, tally } from "./bench-tls-client.ts";

const CLI = fileURLToPath(new URL("../packages/token-broker/src/cli.ts", import.meta.url));
const REQUESTS = 1_600;
const ROUNDS = 4;
/** Warm-up requests per broker process (JIT and caches settled before measuring). */
const WARMUP = 500;
const CONCURRENCY = 16;
const TARGET = 1.7;

/** What {@link benchWorkers} needs: a configuration file and what a workload sends. */
export interface WorkersBenchInput {
  configPath: string;
  /** Variables the configuration names (`…Env`), plus NODE_EXTRA_CA_CERTS for the local Entra. */
  env: Record<string, string>;
  caPem: string;
  audience: string;
  body: BodyFor;
}

interface RunningCli {
  workers: number;
  child: ChildProcess;
  port: number;
  pids: number[];
  tally: Tally;
  /** CPU ms per process (same order as pids), summed over the measured rounds. */
  cpuMs: number[];
}

const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime + stime of every thread of `pid`, ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

async function startCli(workers: number, input: WorkersBenchInput): Promise<RunningCli> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "--config", input.configPath, "--workers", String(workers), "--log-level", "warn"],
    { stdio: ["ignore", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "", ...input.env } },
  );
  let stdout = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  const deadline = Date.now() + 60_000;
  const listening = /listening on https:\/\/127\.0\.0\.1:(\d+)/;
  for (;;) {
    if (listening.test(stdout)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`confspace-broker --workers ${workers} did not start`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(listening.exec(stdout)![1]);
  const pid = child.pid!;
  const pids =
    workers === 1
      ? [pid]
      : [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).map(Number)];
  if (pids.length !== (workers === 1 ? 1 : workers + 1)) throw new Error(`expected ${workers} workers, saw ${pids}`);
  return { workers, child, port, pids, tally: tally(), cpuMs: pids.map(() => 0) };
}

async function stopCli(cli: RunningCli): Promise<number | null> {
  if (cli.child.exitCode !== null) return cli.child.exitCode;
  const exited = once(cli.child, "exit");
  cli.child.kill("SIGTERM");
  const [code] = (await exited) as [number | null];
  return code;
}

/** Requests/s at which the measured processes would saturate this machine's cores. */
function capacity(cli: RunningCli, cores: number): number {
  const perRequest = cli.cpuMs.map((ms) => ms / cli.tally.count);
  const total = perRequest.reduce((a, b) => a + b, 0);
  return Math.min((cores * 1000) / total, 1000 / Math.max(...perRequest));
}

/**
 * Runs `--workers 1` and `--workers 2` side by side (alternating rounds, so drift in the
 * machine's load hits both alike) and prints each one's end-to-end rate, its server CPU
 * time per request and per process, the capacity computed from it, and the ratio against
 * the ≥ 1.7× target. Returns the number of failed requests.
 */
export async function benchWorkers(input: WorkersBenchInput): Promise<number> {
  const cores = availableParallelism();
  console.log(
    `\n# Broker CLI --workers 1 vs 2 (${REQUESTS} requests each, concurrency ${CONCURRENCY}, ${cores} cores; ` +
      "capacity from the server's CPU time per request)",
  );
  const clis: RunningCli[] = [];
  try {
    for (const workers of [1, 2]) clis.push(await startCli(workers, input));
    const request = (cli: RunningCli) => () => oneRequest(cli.port, input.caPem, input.audience, input.body);
    for (const cli of clis) {
      // Every process warms up as much as the single one (JIT, caches): the kernel spreads
      // connections, so N workers need N times the warm-up requests.
      const warm = tally();
      await runLanes(request(cli), WARMUP * cli.workers, CONCURRENCY, warm);
      if (warm.failures > 0) throw new Error(`--workers ${cli.workers} warm-up: ${warm.failures} requests failed`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const cli of clis) {
        const before = cli.pids.map(processCpuMs);
        await runLanes(request(cli), REQUESTS / ROUNDS, CONCURRENCY, cli.tally);
        cli.pids.forEach((pid, i) => {
          cli.cpuMs[i]! += processCpuMs(pid) - before[i]!;
        });
      }
    }
    const capacities = clis.map((cli) => capacity(cli, cores));
    clis.forEach((cli, i) => {
      const perRequest = cli.cpuMs.map((ms) => ms / cli.tally.count);
      const total = perRequest.reduce((a, b) => a + b, 0);
      const split =
        cli.workers === 1
          ? ""
          : ` (primary ${perRequest[0]!.toFixed(3)}, workers ${perRequest
              .slice(1)
              .map((ms) => ms.toFixed(3))
              .join(" / ")})`;
      console.log(
        `  --workers ${cli.workers}  ${(cli.tally.count / cli.tally.seconds).toFixed(0).padStart(5)} req/s end to end   ` +
          `p50 ${quantile(cli.tally, 0.5).toFixed(1)} ms   server cpu ${total.toFixed(3)} ms/req${split}   ` +
          `capacity ${capacities[i]!.toFixed(0)} req/s${cli.tally.failures > 0 ? `   FAILED ${cli.tally.failures}` : ""}`,
      );
    });
    const ratio = capacities[1]! / capacities[0]!;
    console.log(
      `  2 workers / 1 worker: ${ratio.toFixed(2)}× the capacity; target ≥ ${TARGET}× → ${ratio >= TARGET ? "(met)" : "(NOT met)"}`,
    );
    return clis.reduce((sum, cli) => sum + cli.tally.failures, 0);
  } finally {
    const codes = await Promise.all(clis.map(stopCli));
    codes.forEach((code, i) => {
      if (code !== 0) console.log(`  note: --workers ${clis[i]!.workers} exited with ${code} after SIGTERM`);
    });
  }
}
