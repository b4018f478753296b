// One `bao server -config=…` child process: started, its port found, stopped. Its output
// goes to a log file in the server's temp dir, quoted (last lines) when it fails to start.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { listeningPorts } from "./listen-port.js";

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
}

/**
 * Starts `binary server -config=configPath` and resolves once it listens: on `port` when
 * given, else on the one TCP port it picked (the cluster port only opens after unsealing).
 */
export async function startServerProcess(
  binary: string,
  configPath: string,
  logPath: string,
  port = 0,
): Promise<ServerProcess> {
  const log = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(binary, ["server", `-config=${configPath}`], {
      stdio: ["ignore", log, log],
      env: { ...process.env, VAULT_ADDR: undefined, BAO_ADDR: undefined, VAULT_TOKEN: undefined, BAO_TOKEN: undefined },
    });
  } finally {
    closeSync(log);
  }
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(`exited (${signal ?? code})`));
    child.once("error", (error) => resolve(`could not start: ${error.message}`));
  });
  let failure: string | undefined;
  void exited.then((why) => {
    failure = why;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (failure === undefined && Date.now() < deadline) {
    const ports = child.pid === undefined ? [] : await listeningPorts(child.pid);
    if (port === 0 && ports.length === 1) return { child, port: ports[0]! };
    if (port !== 0 && ports.includes(port)) return { child, port };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  child.kill("SIGKILL");
  const tail = (await readFile(logPath, "utf8").catch(() => "")).split("\n").slice(-15).join("\n");
  throw new Error(`${binary} server ${failure ?? `did not listen within ${START_TIMEOUT_MS} ms`}; its log:\n${tail}`);
}

/** SIGTERM, then SIGKILL after a few seconds; resolves when the process is gone. */
export async function stopServerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await gone;
  clearTimeout(timer);
}
