#!/usr/bin/env node
// confspace-bootstrap: the entrypoint (`--config FILE -- COMMAND ARGS`) and the credential
// helpers other SDKs call (`aws-credential-process`, `google-executable-source`).
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { customTokenSource, defaultTokenSource } from "@confspace/attestation";
import { ConfspaceError, jsonLogger, type LogLevel } from "@confspace/core";
import { awsCredentialProcess } from "./aws-credential-process.js";
import { runBootstrap } from "./bootstrap.js";
import { CERTIFICATE_USAGE, runCertificateCommand } from "./certificate-command.js";
import { loadBootstrapConfig } from "./config.js";
import { BootstrapConfigError, CommandStartError } from "./errors.js";
import {
  GOOGLE_OUTPUT_FILE_ENV,
  googleExecutableResponse,
  writeExecutableOutputFile,
} from "./google-executable-source.js";

/** Environment variable naming the configuration file when `--config` is not given. */
const CONFIG_ENV = "CONFSPACE_BOOTSTRAP_CONFIG";

const USAGE = `Usage:
  confspace-bootstrap [--config FILE] [--log-level LEVEL] -- COMMAND [ARGS...]
  confspace-bootstrap aws-credential-process --role ARN [--duration-seconds N] [--session-name NAME]
      [--broker-url URL --broker-audience AUD [--broker-ca FILE]]
      [--web-identity-audience AUD [--region R] [--sts-endpoint URL]]
  confspace-bootstrap google-executable-source [--token-audience AUD] [--expiry-skew-seconds N]
${CERTIFICATE_USAGE}

The first form resolves the secrets of FILE (default: $${CONFIG_ENV}) into environment
variables or files in a private tmpfs directory, starts the Azure managed-identity
endpoint when configured, then runs COMMAND, forwarding signals and its exit code.
aws-credential-process prints AWS credential_process JSON (broker by default; web identity
with --web-identity-audience). google-executable-source prints a Google executable-source
response with the attestation token. certificate writes the broker's workload client
certificate (tls.crt, tls.key 0600, workload-ca.crt, ca.crt) into DIR, and with --renew
keeps it fresh until SIGTERM.
`;

class UsageError extends Error {}

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function parse<T extends Record<string, { type: "string" | "boolean"; short?: string }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function positiveInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${option} must be a whole number of seconds`);
  return Number(value);
}

async function awsCommand(args: string[]): Promise<number> {
  const v = parse(args, {
    role: { type: "string" },
    "duration-seconds": { type: "string" },
    "session-name": { type: "string" },
    "broker-url": { type: "string" },
    "broker-audience": { type: "string" },
    "broker-ca": { type: "string" },
    "web-identity-audience": { type: "string" },
    region: { type: "string" },
    "sts-endpoint": { type: "string" },
  });
  if (typeof v.role !== "string") throw new UsageError("aws-credential-process needs --role ARN");
  const durationSeconds = positiveInteger(v["duration-seconds"] as string | undefined, "--duration-seconds");
  const sessionName = v["session-name"] as string | undefined;
  const webAudience = v["web-identity-audience"] as string | undefined;
  if (webAudience !== undefined && (v["broker-url"] || v["broker-audience"] || v["broker-ca"])) {
    throw new UsageError("--web-identity-audience and --broker-* are two different paths: choose one");
  }
  if (webAudience === undefined && (v.region || v["sts-endpoint"])) {
    throw new UsageError("--region and --sts-endpoint belong to --web-identity-audience");
  }
  const output = await awsCredentialProcess(
    webAudience !== undefined
      ? {
          via: "web-identity",
          roleArn: v.role,
          audience: webAudience,
          durationSeconds,
          sessionName,
          region: v.region as string | undefined,
          stsEndpoint: v["sts-endpoint"] as string | undefined,
        }
      : {
          via: "broker",
          roleArn: v.role,
          durationSeconds,
          sessionName,
          brokerUrl: v["broker-url"] as string | undefined,
          audience: v["broker-audience"] as string | undefined,
          ...(typeof v["broker-ca"] === "string" && { ca: await readFile(v["broker-ca"], "utf8") }),
        },
  );
  process.stdout.write(`${JSON.stringify(output)}\n`);
  return 0;
}

async function googleCommand(args: string[]): Promise<number> {
  const v = parse(args, { "token-audience": { type: "string" }, "expiry-skew-seconds": { type: "string" } });
  const audience = v["token-audience"] as string | undefined;
  const skew = positiveInteger(v["expiry-skew-seconds"] as string | undefined, "--expiry-skew-seconds") ?? 30;
  const expirySkewMs = skew * 1000;
  const source =
    audience === undefined ? defaultTokenSource({ expirySkewMs }) : customTokenSource({ audience, expirySkewMs });
  try {
    const response = await googleExecutableResponse({ tokenSource: source, expirySkewSeconds: skew });
    const outputFile = process.env[GOOGLE_OUTPUT_FILE_ENV];
    if (outputFile) await writeExecutableOutputFile(outputFile, response);
    process.stdout.write(JSON.stringify(response));
    return 0;
  } catch (error) {
    // The documented failure shape; google-auth shows code and message to the user.
    const code = error instanceof ConfspaceError ? error.code : "ERR_ATTESTATION_TOKEN";
    const message = error instanceof ConfspaceError ? error.message : "no attestation token";
    process.stdout.write(JSON.stringify({ version: 1, success: false, code, message }));
    return 1;
  } finally {
    source.dispose();
  }
}

async function runCommandLine(argv: string[]): Promise<number> {
  const separator = argv.indexOf("--");
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const v = parse(own, {
    config: { type: "string", short: "c" },
    "log-level": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = separator === -1 ? [] : argv.slice(separator + 1);
  if (command.length === 0)
    throw new UsageError(
      "no command: put it after --, e.g. confspace-bootstrap --config bootstrap.yaml -- python app.py",
    );
  const path = (v.config as string | undefined) ?? process.env[CONFIG_ENV];
  if (!path) throw new UsageError(`no configuration: pass --config FILE or set ${CONFIG_ENV}`);
  const level = (v["log-level"] as string | undefined) ?? "warn";
  if (!LEVELS.includes(level as LogLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}`);
  const logger = jsonLogger({ level: level as LogLevel, base: { service: "confspace-bootstrap" } });
  const config = await loadBootstrapConfig(path);
  const [file, ...args] = command as [string, ...string[]];
  const env = { ...process.env };
  delete env[CONFIG_ENV];
  const exit = await runBootstrap(config, file, args, { logger, env });
  return exit.exitCode;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "aws-credential-process") return awsCommand(argv.slice(1));
  if (argv[0] === "google-executable-source") return googleCommand(argv.slice(1));
  if (argv[0] === "certificate") {
    const stopSignal = new Promise<string>((resolve) => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolve(signal));
    });
    return runCertificateCommand(argv.slice(1), { env: process.env, stopSignal });
  }
  return runCommandLine(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof ConfspaceError || error instanceof UsageError
        ? error.message
        : error instanceof Error
          ? `${error.name}: ${(error as NodeJS.ErrnoException).code ?? "failed"}`
          : "failed";
    process.stderr.write(`confspace-bootstrap: ${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`\n${USAGE}`);
    process.exitCode =
      error instanceof CommandStartError
        ? error.exitCode
        : error instanceof UsageError || error instanceof BootstrapConfigError
          ? 2
          : 1;
  },
);
