import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listeningUrl, startCli, stopClis } from "../test/cli-process.js";
import { AUDIENCE, CLIENT_SECRET, ENV, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { workloadRequest } from "../test/workload.js";

describe("confspace-broker --workers", () => {
  let env: TestEnvironment;
  let configPath: string;

  beforeAll(async () => {
    env = await startTestEnvironment();
    configPath = join(env.pki.dir, "broker-workers.json");
    await writeFile(configPath, JSON.stringify(env.config()));
  });
  afterEach(stopClis);
  afterAll(async () => {
    await env?.stop();
  });

  it("--workers 2 serves tokens from both worker processes, then drains both on SIGTERM", async () => {
    const cli = startCli(["--config", configPath, "--workers", "2"], {
      env: { ...ENV, NODE_EXTRA_CA_CERTS: env.pki.caPath },
    });
    const url = await listeningUrl(cli, 20_000);
    expect(cli.stdout()).toContain("(2 workers)");

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
    const cli = startCli(["--config", missing, "--workers", "2"], { env: ENV });
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain("tls.certFile");
    expect(cli.stdout()).not.toContain("listening on");
  }, 60_000);

  it.each([["0"], ["65"], ["1.5"]])(
    "refuses --workers %s with exit code 2",
    async (value) => {
      const cli = startCli(["--config", configPath, "--workers", value], { env: ENV });
      expect(await cli.exit).toBe(2);
      expect(cli.stderr()).toContain("--workers (or CONFSPACE_BROKER_WORKERS) must be an integer from 1 to 64");
    },
    30_000,
  );
});
