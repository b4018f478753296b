#!/usr/bin/env node
// confspace-broker: loads the configuration, serves until SIGINT/SIGTERM, then shuts
// down gracefully (in-flight requests finish, within limits.shutdownTimeoutSeconds).
import { parseArgs } from "node:util";
import { jsonLogger, type LogLevel } from "@confspace/core";
import { createBroker } from "./broker.js";
import { ENV_BROKER_CONFIG, ENV_BROKER_LOG_LEVEL } from "./env.js";
import { BrokerConfigError } from "./errors.js";
import { loadBrokerConfig } from "./load-config.js";

const USAGE = `Usage: confspace-broker --config FILE [--log-level LEVEL]

Attestation-checking token broker: verifies EKM-bound Confidential Space tokens and
hands out Azure access tokens and AWS role credentials according to the grants in FILE.

Options:
  -c, --config FILE      configuration, YAML or JSON (default: $${ENV_BROKER_CONFIG})
      --log-level LEVEL  debug, info, warn or error (default: $${ENV_BROKER_LOG_LEVEL}, else info)
  -h, --help             print this help

Logs are JSON lines on stderr; the listening URL is printed on stdout.
`;

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

class UsageError extends Error {}

async function main(): Promise<void> {
  let values: { config?: string; "log-level"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        config: { type: "string", short: "c" },
        "log-level": { type: "string" },
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
  const path = values.config ?? process.env[ENV_BROKER_CONFIG];
  if (path === undefined || path === "") {
    throw new UsageError(`no configuration: pass --config FILE or set ${ENV_BROKER_CONFIG}`);
  }
  const level = values["log-level"] ?? process.env[ENV_BROKER_LOG_LEVEL] ?? "info";
  if (!LEVELS.includes(level as LogLevel)) {
    throw new UsageError(`--log-level (or ${ENV_BROKER_LOG_LEVEL}) must be one of ${LEVELS.join(", ")}`);
  }

  const logger = jsonLogger({ level: level as LogLevel, base: { service: "confspace-broker" } });
  const broker = createBroker(await loadBrokerConfig(path), { logger });
  const { url } = await broker.listen();
  process.stdout.write(`confspace-broker listening on ${url}\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    broker.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error("shutdown failed", { error });
        process.exitCode = 1;
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`confspace-broker: ${message}\n`);
  if (error instanceof UsageError) process.stderr.write(`\n${USAGE}`);
  process.exitCode = error instanceof UsageError || error instanceof BrokerConfigError ? 2 : 1;
});
