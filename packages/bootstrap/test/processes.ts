// Test-only: runs the CLI (TypeScript sources, through tsx) and other programs as child
// processes, capturing their output; stops local servers whichever name their stop has.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, "../../..");
export const CLI = join(HERE, "../src/cli.ts");
/** The Python of scripts/tools.sh's venv (boto3, google-auth, azure-identity). */
export const PYTHON = join(ROOT, ".tools/venv/bin/python");
/** The command line that runs the CLI from its sources, for config files of other tools. */
export const CLI_COMMAND = [process.execPath, "--import", "tsx", CLI];

export interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Exit code, or 128 + n for a signal. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

export function start(command: string, args: readonly string[], env: Record<string, string>): Run {
  const child = spawn(command, args, { cwd: ROOT, stdio: "pipe", env: { PATH: process.env.PATH ?? "", ...env } });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      done({ code, signal });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Runs the CLI with `args` (sources through tsx, process.execPath so signals reach it). */
export function startCli(args: readonly string[], env: Record<string, string>): Run {
  return start(process.execPath, ["--import", "tsx", CLI, ...args], env);
}

/** Kills whatever is still running (afterEach). */
export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}

/** Waits until `condition()` holds, polling, or throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stops a local server: `close()` (the testing package's LocalServer) or `stop()`. */
export async function shutdown(server: { close?: () => Promise<void>; stop?: () => Promise<void> }): Promise<void> {
  if (typeof server.close === "function") await server.close();
  else await server.stop?.();
}

/**
 * The request log of a local server: `requests` (the testing package's LocalServer) or,
 * on servers not yet moved to it, `calls`.
 */
export function recorded<T>(server: object): T[] {
  const { requests, calls } = server as { requests?: unknown; calls?: unknown };
  if (Array.isArray(requests)) return requests as T[];
  if (Array.isArray(calls)) return calls as T[];
  throw new Error("this local server keeps no request log");
}
