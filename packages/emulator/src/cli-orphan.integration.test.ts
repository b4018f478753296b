import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "cli.ts");
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

// Stands in for npx's `sh -c`: starts the CLI, passes its stdout on, and is then killed.
const SHELL = `
const { spawn } = require("node:child_process");
const [cli, dir] = process.argv.slice(2);
const child = spawn(process.execPath, ["--import", "tsx", cli, "--dir", dir], { stdio: ["ignore", "pipe", "ignore"] });
process.stdout.write("PID=" + child.pid + "\\n");
child.stdout.pipe(process.stdout);
setInterval(() => {}, 1000);
`;

const started: ChildProcess[] = [];
const orphans: number[] = [];
const scratch: string[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const pid of orphans.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {} // already gone
  }
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function startUnderShell(env: NodeJS.ProcessEnv) {
  const base = await mkdtemp(join(tmpdir(), "confspace-orphan-it-"));
  scratch.push(base);
  const dir = join(base, "run");
  const script = join(base, "shell.cjs");
  await writeFile(script, SHELL);
  const shell = spawn(process.execPath, [script, CLI, dir], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  shell.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  started.push(shell);
  let stdout = "";
  await new Promise<void>((ready, fail) => {
    shell.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes("CONFSPACE_PKI_ROOT_FINGERPRINT=")) ready();
    });
    shell.on("exit", (code, signal) =>
      fail(new Error(`the stand-in shell exited early (${code ?? signal}): ${stderr}`)),
    );
  });
  const socket = join(dir, "teeserver.sock");
  expect(await exists(socket)).toBe(true);
  const pid = Number(/^PID=(\d+)$/m.exec(stdout)?.[1]);
  orphans.push(pid);
  return { shell, socket, pid };
}

async function gone(path: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!(await exists(path))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe("confspace-emulator CLI under npx", () => {
  it("stops and removes its socket when npx (npm_command=exec) goes away without passing the signal on", async () => {
    const { shell, socket } = await startUnderShell({ ...process.env, npm_command: "exec" });
    shell.kill("SIGKILL");
    expect(await gone(socket, 10_000)).toBe(true);
  });

  it("keeps running when its parent goes away outside npx (a detached start stays up)", async () => {
    const env = { ...process.env };
    delete env.npm_command;
    const { shell, socket, pid } = await startUnderShell(env);
    shell.kill("SIGKILL");
    expect(await gone(socket, 2_000)).toBe(false);
    // Stopped the documented way, it still cleans up.
    process.kill(pid, "SIGTERM");
    expect(await gone(socket, 10_000)).toBe(true);
  });
});
