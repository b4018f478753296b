// Runs HAProxy in the foreground for a test: a config written to a temp dir, a loopback
// port found by binding :0 first, retried when another process grabs it in between.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";

export interface RunningHaproxy {
  port: number;
  /** What HAProxy wrote so far (warnings, alerts). */
  output(): string;
  stop(): Promise<void>;
}

/** HAProxy's path: /usr/sbin/haproxy (Debian, what `.ci/run` installs), else the first on PATH. */
export function haproxyPath(): string {
  if (existsSync("/usr/sbin/haproxy")) return "/usr/sbin/haproxy";
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = join(dir, "haproxy");
    if (dir !== "" && existsSync(candidate)) return candidate;
  }
  throw new Error("haproxy is not installed (apt-get install haproxy; .ci/run does it on CI)");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts `haproxy -db -f {dir}/{name}.cfg` with the config `render(port)` returns and the
 * environment `env(port)` adds (for a config that reads `"${VAR}"`), and waits (at most
 * 10 s) until it accepts connections on `port`.
 */
export async function startHaproxy(
  dir: string,
  name: string,
  render: (port: number) => string,
  env: (port: number) => Record<string, string> = () => ({}),
): Promise<RunningHaproxy> {
  const binary = haproxyPath();
  let lastOutput = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const file = join(dir, `${name}.cfg`);
    await writeFile(file, render(port));
    const child: ChildProcess = spawn(binary, ["-db", "-f", file], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env(port) },
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.once("exit", () => {
        exited = true;
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await accepts(port))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited && (await accepts(port))) {
      return {
        port,
        output: () => output,
        async stop() {
          if (exited) return;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
          await exit;
          clearTimeout(timer);
        },
      };
    }
    if (!exited) child.kill("SIGKILL");
    await exit;
    lastOutput = output;
    // Someone took the port between our probe and HAProxy's bind: try another one.
    if (!/cannot bind|Address already in use/i.test(output)) break;
  }
  throw new Error(`haproxy did not start:\n${lastOutput}`);
}
