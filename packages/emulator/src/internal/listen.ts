import { lstat, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { connect } from "node:net";
import { EmulatorError } from "../errors.js";

function listenOnce(server: Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if (typeof target === "string") server.listen(target, done);
    else server.listen(target.port, target.host, done);
  });
}

/** Whether something accepts connections on the socket at `path`. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Listens on a Unix socket. A socket file left behind by a process that died is
 * removed first; a live one, or any other kind of file, is an error.
 */
export async function listenUnix(server: Server, path: string): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket()) {
      throw new EmulatorError(
        "ERR_EMULATOR_LISTEN",
        `${path} exists and is not a socket: pass another socketPath (--socket).`,
      );
    }
    if (await socketAnswers(path)) {
      throw new EmulatorError(
        "ERR_EMULATOR_LISTEN",
        `${path} is in use: stop the process serving it or pass another socketPath (--socket).`,
      );
    }
    await rm(path, { force: true });
  }
  try {
    await listenOnce(server, path);
  } catch (error) {
    throw new EmulatorError("ERR_EMULATOR_LISTEN", `Cannot listen on the launcher socket ${path}.`, { cause: error });
  }
}

/** Listens on TCP; port 0 picks a free port. */
export async function listenTcp(server: Server, host: string, port: number): Promise<number> {
  try {
    await listenOnce(server, { host, port });
  } catch (error) {
    throw new EmulatorError("ERR_EMULATOR_LISTEN", `Cannot listen on ${host}:${port}: pass another port (--port).`, {
      cause: error,
    });
  }
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new EmulatorError("ERR_EMULATOR_LISTEN", "No TCP address.");
  return address.port;
}

/** Stops accepting, drops every open connection (keep-alive ones too) and waits for the close. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
