// The confspace-broker CLI as a child process, for the CLI integration tests: started from
// source with tsx, its output collected, and killed (its whole process group) after each test.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "../src/cli.ts");
const ROOT = resolve(HERE, "../../..");

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The JSON log records on stderr, in order. */
  records(): Array<Record<string, unknown>>;
  exit: Promise<number | null>;
}

export interface StartCliOptions {
  /** The whole environment of the child besides PATH. Default: none. */
  env?: Record<string, string>;
  /** A command that runs the CLI, e.g. `["prlimit", "--nofile=256:256", "--"]`. Default: none. */
  wrapper?: string[];
}

const started: ChildProcess[] = [];

export function startCli(args: string[], options: StartCliOptions = {}): CliProcess {
  // process.execPath, not the node_modules/.bin wrapper, so signals reach the broker.
  const command = [...(options.wrapper ?? []), process.execPath, "--import", "tsx", CLI, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    stdio: "pipe",
    // Its own process group, so stopClis can kill workers too if a test fails half-way.
    detached: true,
    env: { PATH: process.env.PATH ?? "", ...options.env },
  });
  started.push(child);
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

/** Waits for the CLI's "listening on https://…" line and returns that URL. */
export async function listeningUrl(cli: CliProcess, timeoutMs: number): Promise<string> {
  await expect.poll(() => cli.stdout(), { timeout: timeoutMs }).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
  return /listening on (https:\/\/\S+)/.exec(cli.stdout())![1]!;
}

/** Kills the process group of every CLI still running (for afterEach). */
export function stopClis(): void {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }
}
