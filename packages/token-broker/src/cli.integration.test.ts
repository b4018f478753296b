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
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function startCli(args: string[], extraEnv: Record<string, string> = {}): Cli {
  // process.execPath, not the node_modules/.bin wrapper, so signals reach the broker.
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    stdio: "pipe",
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
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

describe("confspace-broker CLI", () => {
  let env: TestEnvironment;
  let configPath: string;

  beforeAll(async () => {
    env = await startTestEnvironment();
    configPath = join(env.pki.dir, "broker.json");
    await writeFile(configPath, JSON.stringify(env.config()));
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("serves from --config, prints its URL, and shuts down gracefully on SIGTERM", async () => {
    const cli = startCli(["--config", configPath], { ...ENV, NODE_EXTRA_CA_CERTS: env.pki.caPath });
    await expect.poll(() => cli.stdout(), { timeout: 15_000 }).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    const url = /listening on (https:\/\/\S+)/.exec(cli.stdout())![1]!;
    const res = await workloadRequest(url, {
      audience: AUDIENCE,
      mint: (o) => env.emulator.mintToken(o),
      tls: env.tls,
    });
    expect(res.status).toBe(200);
    cli.child.kill("SIGTERM");
    expect(await cli.exit).toBe(0);
    const lines = cli
      .stderr()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === "token request")).toMatchObject({ outcome: "ok", service: "confspace-broker" });
    expect(lines.at(-1)).toMatchObject({ msg: "broker closed" });
    expect(cli.stderr()).not.toContain(CLIENT_SECRET);
    expect(cli.stderr()).not.toContain(res.json.access_token as string);
  }, 30_000);

  it("warns at startup when ulimit -n leaves less than 128 descriptors beyond limits.maxConnections", async () => {
    // Default maxConnections 512 under a 256-descriptor limit.
    const child = spawn(
      "prlimit",
      ["--nofile=256:256", "--", process.execPath, "--import", "tsx", CLI, "--config", configPath],
      { cwd: ROOT, stdio: "pipe", env: { PATH: process.env.PATH ?? "", ...ENV } },
    );
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const exit = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    await expect.poll(() => stdout, { timeout: 15_000 }).toMatch(/listening on/);
    const warning = stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === "the file-descriptor limit leaves too little room for limits.maxConnections");
    expect(warning).toMatchObject({ level: "warn", fileDescriptorLimit: 256, maxConnections: 512 });
    expect(String(warning!.advice)).toContain("at least 640");
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  }, 30_000);

  it("reads the path from CONFSPACE_BROKER_CONFIG", async () => {
    const cli = startCli([], { ...ENV, CONFSPACE_BROKER_CONFIG: configPath });
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
    const cli = startCli(["--config", bad], ENV);
    expect(await cli.exit).toBe(2);
    expect(cli.stderr()).toContain("grants[0].azure[0].scopes: must not be empty");
  }, 30_000);
});
