#!/usr/bin/env node
// confspace-broker: loads the configuration, serves until SIGINT/SIGTERM, then shuts
// down gracefully (in-flight requests finish, within limits.shutdownTimeoutSeconds).
// With --workers N it is a node:cluster primary forking N such brokers (internal/workers.ts).
import { parseArgs } from "node:util";
import { jsonLogger, type LogLevel, optionOrEnv } from "@confspace/core";
import { stopWhenOrphaned } from "@confspace/core/cli";
import { createBroker } from "./broker.js";
import { BROKER_CONFIG_ENV, BROKER_LOG_LEVEL_ENV, BROKER_WORKERS_ENV } from "./env.js";
import { BrokerConfigError } from "./errors.js";
import { serveWorkerMetrics, startPrimaryMetrics } from "./internal/worker-metrics.js";
import { leaveCluster, reportListening, runPrimary, workerId, workerPort } from "./internal/workers.js";
import { loadBrokerConfig } from "./load-config.js";

/** Most `--workers`: far more than cores only multiplies memory and upstream calls. */
const MAX_WORKERS = 64;

const USAGE = `Usage: confspace-broker --config FILE [--log-level LEVEL] [--workers N]

Attestation-checking token broker: verifies EKM-bound Confidential Space tokens and
hands out Azure access tokens and AWS role credentials according to the grants in FILE.

Options:
  -c, --config FILE      configuration, YAML or JSON (default: $${BROKER_CONFIG_ENV})
      --log-level LEVEL  debug, info, warn or error (default: $${BROKER_LOG_LEVEL_ENV}, else info)
      --workers N        serve with N processes sharing the port, 1 to ${MAX_WORKERS}
                         (default: $${BROKER_WORKERS_ENV}, else 1); limits apply per worker
  -h, --help             print this help

Logs are JSON lines on stderr; the listening URL is printed on stdout.
`;

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

class UsageError extends Error {}

async function main(): Promise<void> {
  let values: { config?: string; "log-level"?: string; workers?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        config: { type: "string", short: "c" },
        "log-level": { type: "string" },
        workers: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const path = optionOrEnv(values.config, BROKER_CONFIG_ENV)?.value;
  if (path === undefined) {
    throw new UsageError(`no configuration: pass --config FILE or set ${BROKER_CONFIG_ENV}`);
  }
  const level = optionOrEnv(values["log-level"], BROKER_LOG_LEVEL_ENV)?.value ?? "info";
  if (!LEVELS.includes(level as LogLevel)) {
    throw new UsageError(`--log-level (or ${BROKER_LOG_LEVEL_ENV}) must be one of ${LEVELS.join(", ")}`);
  }

  const workersText = optionOrEnv(values.workers, BROKER_WORKERS_ENV)?.value ?? "1";
  const workers = Number(workersText);
  if (!/^[0-9]+$/.test(workersText) || workers < 1 || workers > MAX_WORKERS) {
    throw new UsageError(`--workers (or ${BROKER_WORKERS_ENV}) must be an integer from 1 to ${MAX_WORKERS}`);
  }

  const worker = workerId();
  // Under npx, a SIGTERM to npx never arrives here: stop as if it had, once npx is gone.
  stopWhenOrphaned(() => process.kill(process.pid, "SIGTERM"));
  const base =
    worker === undefined ? { service: "confspace-broker" } : { service: "confspace-broker", worker, pid: process.pid };
  const logger = jsonLogger({ level: level as LogLevel, base });
  const config = await loadBrokerConfig(path);
  if (worker === undefined && workers > 1) {
    // The primary serves nothing: it checks the configuration once (a bad field or an
    // unset variable is reported once, exit 2), then forks the workers.
    await createBroker(config).close();
    // One /metrics for the service, served here with every worker's counters summed.
    const metricsConfig = config.metrics === false ? undefined : config.metrics === true ? {} : (config.metrics ?? {});
    const metrics = metricsConfig === undefined ? undefined : await startPrimaryMetrics(metricsConfig);
    if (metrics !== undefined) logger.info("metrics listening", { metrics: `${metrics.url}/metrics` });
    process.exitCode = await runPrimary({
      workers,
      logger,
      shutdownTimeoutMs: (config.limits?.shutdownTimeoutSeconds ?? 10) * 1000,
      onListening: (url) => process.stdout.write(`confspace-broker listening on ${url} (${workers} workers)\n`),
    });
    await metrics?.close();
    return;
  }

  // A worker serves no /metrics of its own: the primary asks it over IPC (internal/worker-metrics.ts).
  // Workers after the first bind the port the first one got (SO_REUSEPORT, internal/workers.ts).
  const port = workerPort();
  const workerConfig = {
    ...config,
    metrics: false as const,
    ...(port === undefined ? {} : { listen: { ...config.listen, port } }),
  };
  const broker = createBroker(worker === undefined ? config : workerConfig, { logger });
  if (worker !== undefined) serveWorkerMetrics(() => broker.metrics.render());
  const { url, port: boundPort } = await broker.listen();
  if (worker === undefined) process.stdout.write(`confspace-broker listening on ${url}\n`);
  else reportListening(url, boundPort);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    broker.close().then(
      () => {
        process.exitCode = 0;
        leaveCluster();
      },
      (error: unknown) => {
        logger.error("shutdown failed", { error });
        process.exitCode = 1;
        leaveCluster();
      },
    );
  };
  // `on`, not `once`: Ctrl-C reaches both this process and a wrapper (pnpm, npx) that may
  // forward it again; a second signal must not kill the process halfway through cleanup.
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`confspace-broker: ${message}\n`);
  if (error instanceof UsageError) process.stderr.write(`\n${USAGE}`);
  process.exitCode = error instanceof UsageError || error instanceof BrokerConfigError ? 2 : 1;
  leaveCluster();
});
