import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AUDIENCE, CLIENT_SECRET, ENV, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { workloadRequest } from "../test/workload.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "cli.ts");
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

interface Cli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  records(): Array<Record<string, unknown>>;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function startCli(args: string[], extraEnv: Record<string, string> = {}): Cli {
  // process.execPath, not the node_modules/.bin wrapper, so signals reach the primary.
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    stdio: "pipe",
    // Its own process group, so the group can be killed if a test fails half-way.
    detached: true,
    env: { PATH: process.env.PATH ?? "", ...extraEnv },
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const exit = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const records = () =>
    stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { child, stdout: () => stdout, stderr: () => stderr, records, exit };
}

describe("confspace-broker --workers", () => {
  let env: TestEnvironment;
  let configPath: string;

  beforeAll(async () => {
    env = await startTestEnvironment();
    configPath = join(env.pki.dir, "broker-workers.json");
    await writeFile(configPath, JSON.stringify(env.config()));
  });
  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("--workers 2 serves tokens from both worker processes, then drains both on SIGTERM", async () => {
    const cli = startCli(["--config", configPath, "--workers", "2"], {
      ...ENV,
      NODE_EXTRA_CA_CERTS: env.pki.caPath,
    });
    await expect.poll(() => cli.stdout(), { timeout: 20_000 }).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    expect(cli.stdout()).toContain("(2 workers)");
    const url = /listening on (https:\/\/\S+)/.exec(cli.stdout())![1]!;

    // The kernel (SO_REUSEPORT) picks a worker by hashing each connection's addresses, and
    // every request is a new connection from a new port: up to 24 tries, so both workers are
    // reached unless 24 fair coin flips all fall the same way (2⁻²³); it stops at the second.
    const served = new Set<unknown>();
    for (let i = 0; i < 24 && served.size < 2; i++) {
      const res = await workloadRequest(url, {
        audience: AUDIENCE,
        mint: (o) => env.emulator.mintToken(o),
        tls: env.tls,
      });
      expect(res.status).toBe(200);
      expect(res.json.token_type).toBe("Bearer");
      await expect
        .poll(() => cli.records().filter((r) => r.msg === "token request").length, { timeout: 5_000 })
        .toBe(i + 1);
      const last = cli
        .records()
        .filter((r) => r.msg === "token request")
        .at(-1)!;
      expect(last).toMatchObject({ outcome: "ok", service: "confspace-broker" });
      served.add(last.worker);
    }
    expect([...served].sort()).toEqual([1, 2]);
    const pids = new Set(
      cli
        .records()
        .filter((r) => r.msg === "broker listening")
        .map((r) => r.pid),
    );
    expect(pids.size).toBe(2);
    expect(pids.has(cli.child.pid)).toBe(false);

    // One /metrics for the service, on the primary, summing both workers; no worker listens for it.
    const metricsUrl = cli.records().find((r) => r.msg === "metrics listening")?.metrics as string;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(cli.records().filter((r) => r.msg === "broker listening" && r.metrics !== undefined)).toEqual([]);
    const scrape = await (await fetch(metricsUrl)).text();
    expect(scrape).toContain("# confspace-broker: 2 of 2 workers answered\n");
    const okCount = /^confspace_broker_requests_total\{outcome="ok",provider="azure"\} (\d+)$/m.exec(scrape);
    expect(Number(okCount?.[1])).toBe(cli.records().filter((r) => r.msg === "token request").length);

    cli.child.kill("SIGTERM");
    expect(await cli.exit).toBe(0);
    const closed = cli.records().filter((r) => r.msg === "broker closed");
    expect(closed.map((r) => r.worker).sort()).toEqual([1, 2]);
    expect(cli.stderr()).not.toContain(CLIENT_SECRET);
  }, 60_000);

  it("a worker that cannot start stops the primary with the worker's exit code", async () => {
    const missing = join(env.pki.dir, "workers-missing.json");
    await writeFile(missing, JSON.stringify(env.config((c) => (c.tls.certFile = join(env.pki.dir, "absent.pem")))));
    const cli = startCli(["--config", missing, "--workers", "2"], ENV);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain("tls.certFile");
    expect(cli.stdout()).not.toContain("listening on");
  }, 60_000);

  it.each([["0"], ["65"], ["1.5"]])(
    "refuses --workers %s with exit code 2",
    async (value) => {
      const cli = startCli(["--config", configPath, "--workers", value], ENV);
      expect(await cli.exit).toBe(2);
      expect(cli.stderr()).toContain("--workers (or CONFSPACE_BROKER_WORKERS) must be an integer from 1 to 64");
    },
    30_000,
  );
});
