// `confspace-broker --workers N`: a node:cluster primary that forks N broker processes,
// and the worker side of their conversation.
//
// Each worker opens its own listener on the same port with SO_REUSEPORT (`exclusive: true`,
// so the primary holds no handle, and `reusePort: true`, Node ≥ 22.12): the kernel spreads
// new connections over the workers' sockets and the primary only supervises. With node:cluster
// round-robin instead, the primary accepted every connection and handed its descriptor to a
// worker, ~0.16 ms of primary CPU per connection, which capped two workers at ~1.4× one. The
// first worker binds the configured port (port 0: a free one) and reports the port it got;
// the others are forked only then, with that port (BROKER_WORKER_PORT_ENV). The kernel hashes
// each connection's addresses to one socket, so one client's connections all reach one worker,
// and a socket closed for shutdown resets the connections still queued on it (all workers
// close together, on SIGTERM, so this only affects connections arriving during shutdown).
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "@confspace/core";

/** The one message a worker sends: it is listening. */
interface ListeningMessage {
  type: "confspace-broker:listening";
  url: string;
  port: number;
}

/** Set by the primary on workers after the first: the port the first worker bound. */
const BROKER_WORKER_PORT_ENV = "CONFSPACE_BROKER_WORKER_PORT";

/** Extra time a worker gets beyond its own shutdown deadline before it is killed, ms. */
const KILL_GRACE_MS = 5_000;

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  /** How many broker processes to fork, ≥ 2. */
  workers: number;
  logger: Logger;
  /** The workers' drain deadline (`limits.shutdownTimeoutSeconds`), ms; they are killed {@link KILL_GRACE_MS} after it. */
  shutdownTimeoutMs: number;
  /** Called once, with the URL, when every worker listens. */
  onListening(url: string): void;
}

/**
 * Runs the cluster primary: forks `workers` processes that re-run this program (each
 * serves the configuration with its own broker), reports once all listen, and on
 * SIGINT/SIGTERM sends each SIGTERM (it drains) and waits for all of them. A worker that exits
 * on its own (a crash, a listen error) stops the others: the service then exits and its
 * supervisor restarts it whole, rather than running with fewer workers unnoticed.
 *
 * Resolves with the process exit code: 0 after a clean shutdown, 2 when a worker failed
 * on its configuration (exit code 2), 1 otherwise.
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger } = options;
  const live = new Set<Worker>();
  let listening = 0;
  let stopping = false;
  let exitCode = 0;
  let killTimer: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      // A signal rather than a message: a worker still starting has no handler yet and just
      // ends; a listening one drains like a broker sent SIGTERM directly.
      for (const worker of live) worker.process.kill("SIGTERM");
      killTimer = setTimeout(() => {
        logger.warn("broker workers did not exit in time; killing them", { workers: live.size });
        for (const worker of live) worker.process.kill("SIGKILL");
      }, options.shutdownTimeoutMs + KILL_GRACE_MS);
      killTimer.unref();
    };
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info("shutting down", { signal, workers: live.size });
      stop(0);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);

    const fork = (env: Record<string, string>) => {
      const worker = cluster.fork(env);
      live.add(worker);
      worker.on("message", (message: ListeningMessage) => {
        if (message?.type !== "confspace-broker:listening" || stopping) return;
        listening += 1;
        if (listening === 1) {
          // The first worker holds the port: the others bind it too, with SO_REUSEPORT.
          for (let i = 1; i < options.workers; i++) fork({ [BROKER_WORKER_PORT_ENV]: String(message.port) });
        }
        if (listening === options.workers) {
          logger.info("broker workers listening", { url: message.url, workers: options.workers });
          options.onListening(message.url);
        }
      });
      worker.on("exit", (code, signal) => {
        live.delete(worker);
        if (!stopping) {
          logger.error("a broker worker exited; stopping the others", { worker: worker.id, code, signal });
          stop(code === 2 ? 2 : 1);
        } else if (code !== 0 && exitCode === 0) {
          exitCode = 1;
        }
        if (live.size === 0) {
          clearTimeout(killTimer);
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          resolve(exitCode);
        }
      });
    };
    fork({});
  });
}

/** This process's worker number when it is a broker worker forked by {@link runPrimary}. */
export function workerId(): number | undefined {
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/**
 * In a broker worker: the port to listen on instead of the configured one, i.e. the port
 * the first worker bound; undefined in the first worker and outside a cluster.
 */
export function workerPort(): number | undefined {
  const text = cluster.isWorker ? process.env[BROKER_WORKER_PORT_ENV] : undefined;
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^[0-9]+$/.test(text) || port < 1 || port > 65_535) throw new Error(`${BROKER_WORKER_PORT_ENV} is not a port`);
  return port;
}

/** Tells the primary this worker listens, and on which port (no-op outside a cluster). */
export function reportListening(url: string, port: number): void {
  if (cluster.isWorker) process.send?.({ type: "confspace-broker:listening", url, port } satisfies ListeningMessage);
}

/** After a worker's broker has closed or failed to start: leave the cluster, so the process can exit. */
export function leaveCluster(): void {
  if (cluster.isWorker && process.connected) cluster.worker?.disconnect();
}
