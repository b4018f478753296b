// `confspace-broker --workers N` metrics: the workers open no metrics listener of their
// own (they would all bind the same port through the cluster, and a scrape would reach
// one random worker); the primary serves /metrics and asks every worker for its
// exposition over the cluster's IPC channel on each scrape, then sums them.
import cluster, { type Worker } from "node:cluster";
import type { MetricsConfig } from "../config-types.js";
import { mergeExpositions } from "./merge-exposition.js";
import { type MetricsListener, startMetricsListener } from "./metrics-listener.js";

interface MetricsRequest {
  type: "confspace-broker:metrics-request";
  id: number;
}

interface MetricsReply {
  type: "confspace-broker:metrics";
  id: number;
  text: string;
}

/** How long a scrape waits for each worker, ms: a busy worker is left out rather than stalling the scrape. */
const WORKER_REPLY_MS = 2_000;

/** In a worker: answer the primary's metrics requests with `render()`. No-op outside a cluster. */
export function serveWorkerMetrics(render: () => string): void {
  if (!cluster.isWorker) return;
  process.on("message", (message: MetricsRequest) => {
    if (message?.type !== "confspace-broker:metrics-request" || !process.connected) return;
    process.send?.({ type: "confspace-broker:metrics", id: message.id, text: render() } satisfies MetricsReply);
  });
}

/**
 * In the primary: serves `GET /metrics` at `config` with the sum of every live worker's
 * metrics. A worker that does not answer within 2 s is left out, and a comment line says
 * how many answered.
 *
 * @throws {ConfspaceError} `ERR_BROKER_LISTEN`: the address is in use or not available.
 */
export function startPrimaryMetrics(config: MetricsConfig): Promise<MetricsListener> {
  let next = 0;
  const ask = (worker: Worker, id: number) =>
    new Promise<string | undefined>((resolve) => {
      const done = (text: string | undefined) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        resolve(text);
      };
      const onMessage = (message: MetricsReply) => {
        if (message?.type === "confspace-broker:metrics" && message.id === id) done(message.text);
      };
      const timer = setTimeout(() => done(undefined), WORKER_REPLY_MS);
      worker.on("message", onMessage);
      try {
        worker.send({ type: "confspace-broker:metrics-request", id } satisfies MetricsRequest);
      } catch {
        done(undefined);
      }
    });
  return startMetricsListener(config, async () => {
    const workers = Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker?.isConnected() === true,
    );
    const texts = await Promise.all(workers.map((worker) => ask(worker, ++next)));
    const answered = texts.filter((text): text is string => text !== undefined);
    return `# confspace-broker: ${answered.length} of ${workers.length} workers answered\n${mergeExpositions(answered)}`;
  });
}
