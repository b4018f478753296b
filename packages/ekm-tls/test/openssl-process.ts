// Test-only: drives `openssl s_server` / `s_client` and waits for lines in their output.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { OPENSSL } from "./tls-fixtures.js";

export interface OpensslProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs` or on exit. */
  match(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Kills the process (if still running) and waits for it to exit. */
  stop(): Promise<void>;
}

export function spawnOpenssl(args: string[]): OpensslProcess {
  const child = spawn(OPENSSL, args, { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stdin.on("error", () => {});

  return {
    child,
    output: () => output,
    async match(pattern, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = output.match(pattern);
        if (found) return found;
        if (exited || Date.now() > until) {
          throw new Error(
            `openssl ${args[0]}: no ${pattern} in output ${exited ? "(exited)" : "(timed out)"}:\n${output}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      if (!exited) child.kill("SIGKILL");
      await exit;
    },
  };
}
