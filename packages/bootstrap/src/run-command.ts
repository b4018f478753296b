// Starts the app as a child process (Node cannot exec(2) in place; the child also lets the
// Azure endpoint live alongside it), forwards signals to it, and reports how it ended.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { CommandStartError } from "./errors.js";

/** Signals passed on to the app. SIGKILL and SIGSTOP cannot be caught; SIGUSR1 is Node's debugger. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR2",
  "SIGWINCH",
];

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** The app's complete environment. */
  env: Record<string, string>;
  /** Working directory. Default: this process's. */
  cwd?: string;
}

/** How the app ended. */
export interface CommandExit {
  /** Exit code the bootstrap should exit with: the app's, or 128 + signal number when a signal ended it. */
  exitCode: number;
  /** The signal that ended the app, if any. */
  signal?: NodeJS.Signals;
}

/**
 * Runs `command args` with inherited stdio. Resolves when the app has exited.
 *
 * @throws {CommandStartError} it could not be started (`ENOENT`, `EACCES`).
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<CommandExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: "inherit" });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const detach = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      detach();
      reject(new CommandStartError(command, { errno: error.code, cause: error }));
    });
    child.once("exit", (code, signal) => {
      detach();
      if (signal !== null) {
        resolve({ exitCode: 128 + (constants.signals[signal] ?? 0), signal });
      } else {
        resolve({ exitCode: code ?? 1 });
      }
    });
  });
}
