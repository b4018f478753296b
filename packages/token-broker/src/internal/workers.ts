// `confspace-broker --workers N`: a node:cluster primary that forks N broker processes
// sharing one listener, and the worker side of their conversation.
//
// Why node:cluster with round-robin scheduling, not SO_REUSEPORT: the primary accepts each
// connection and hands it to the next worker in turn, so TLS handshakes are spread evenly
// whatever the clients' addresses and ports; `port: 0` gives every worker the same port;
// and a worker that closes its listener for shutdown loses nothing (with SO_REUSEPORT the
// kernel hashes each connection to one socket, and closing a socket resets the connections
// still queued on it). The price is one descriptor hand-over per connection in the primary.
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "@confspace/core";

/** The one message a worker sends: it is listening. */
interface ListeningMessage {
  type: "confspace-broker:listening";
  url: string;
}

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
  // Round-robin in the primary (the Linux default, set explicitly): even spread of connections.
  cluster.schedulingPolicy = cluster.SCHED_RR;
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

    for (let i = 0; i < options.workers; i++) {
      const worker = cluster.fork();
      live.add(worker);
      worker.on("message", (message: ListeningMessage) => {
        if (message?.type !== "confspace-broker:listening") return;
        listening += 1;
        if (listening === options.workers && !stopping) {
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
    }
  });
}

/** This process's worker number when it is a broker worker forked by {@link runPrimary}. */
export function workerId(): number | undefined {
  return cluster.isWorker ? cluster.worker?.id : undefined;
}

/** Tells the primary this worker listens (no-op outside a cluster). */
export function reportListening(url: string): void {
  if (cluster.isWorker) process.send?.({ type: "confspace-broker:listening", url } satisfies ListeningMessage);
}

/** After a worker's broker has closed or failed to start: leave the cluster, so the process can exit. */
export function leaveCluster(): void {
  if (cluster.isWorker && process.connected) cluster.worker?.disconnect();
}
