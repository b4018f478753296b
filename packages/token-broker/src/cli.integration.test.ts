import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listeningUrl, startCli, stopClis } from "../test/cli-process.js";
import { AUDIENCE, CLIENT_SECRET, ENV, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { workloadRequest } from "../test/workload.js";

describe("confspace-broker CLI", () => {
  let env: TestEnvironment;
  let configPath: string;

  beforeAll(async () => {
    env = await startTestEnvironment();
    configPath = join(env.pki.dir, "broker.json");
    await writeFile(configPath, JSON.stringify(env.config()));
  });
  afterEach(stopClis);
  afterAll(async () => {
    await env?.stop();
  });

  it("serves from --config, prints its URL, and shuts down gracefully on SIGTERM", async () => {
    const cli = startCli(["--config", configPath], { env: { ...ENV, NODE_EXTRA_CA_CERTS: env.pki.caPath } });
    const url = await listeningUrl(cli, 15_000);
    const res = await workloadRequest(url, {
      audience: AUDIENCE,
      mint: (o) => env.emulator.mintToken(o),
      tls: env.tls,
    });
    expect(res.status).toBe(200);
    cli.child.kill("SIGTERM");
    expect(await cli.exit).toBe(0);
    const lines = cli.records();
    expect(lines.find((l) => l.msg === "token request")).toMatchObject({ outcome: "ok", service: "confspace-broker" });
    expect(lines.at(-1)).toMatchObject({ msg: "broker closed" });
    expect(cli.stderr()).not.toContain(CLIENT_SECRET);
    expect(cli.stderr()).not.toContain(res.json.access_token as string);
  }, 30_000);

  it("warns at startup when ulimit -n leaves less than 128 descriptors beyond limits.maxConnections", async () => {
    // Default maxConnections 512 under a 256-descriptor limit.
    const cli = startCli(["--config", configPath], { env: ENV, wrapper: ["prlimit", "--nofile=256:256", "--"] });
    await expect.poll(() => cli.stdout(), { timeout: 15_000 }).toMatch(/listening on/);
    const warning = cli
      .records()
      .find((line) => line.msg === "the file-descriptor limit leaves too little room for limits.maxConnections");
    expect(warning).toMatchObject({ level: "warn", fileDescriptorLimit: 256, maxConnections: 512 });
    expect(String(warning!.advice)).toContain("at least 640");
    cli.child.kill("SIGTERM");
    expect(await cli.exit).toBe(0);
  }, 30_000);

  it("reads the path from CONFSPACE_BROKER_CONFIG", async () => {
    const cli = startCli([], { env: { ...ENV, CONFSPACE_BROKER_CONFIG: configPath } });
    await expect.poll(() => cli.stdout(), { timeout: 15_000 }).toMatch(/listening on/);
    cli.child.kill("SIGINT");
    expect(await cli.exit).toBe(0);
  }, 30_000);

  it("exits 2 naming both the flag and the variable when no configuration is given", async () => {
    const cli = startCli([]);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain("pass --config FILE or set CONFSPACE_BROKER_CONFIG");
  }, 30_000);

  it("exits 2 naming the bad field of an invalid configuration", async () => {
    const bad = join(env.pki.dir, "bad.json");
    await writeFile(bad, JSON.stringify(env.config((c) => (c.grants[0]!.azure![0]!.scopes = []))));
    const cli = startCli(["--config", bad], { env: ENV });
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain("grants[0].azure[0].scopes: must not be empty");
  }, 30_000);
});
