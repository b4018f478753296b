// `confspace-bootstrap certificate`: the workload certificate as files, once or kept fresh.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { jsonLogger, type LogLevel } from "@confspace/core";
import { BROKER_AUDIENCE_ENV, BROKER_URL_ENV, type WorkloadKeyType } from "@confspace/ekm-tls";
import { type CertificateRenewalOptions, startCertificateRenewal } from "./certificate-files.js";
import { BootstrapConfigError } from "./errors.js";

const KEY_TYPES: readonly WorkloadKeyType[] = ["P-256", "P-384", "RSA-2048", "RSA-3072", "RSA-4096"];
const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export const CERTIFICATE_USAGE = `  confspace-bootstrap certificate --out-dir DIR [--renew] [--broker-url URL] [--broker-audience AUD]
      [--broker-ca FILE] [--key-service-ca FILE] [--key-type P-256|P-384|RSA-2048|RSA-3072|RSA-4096]
      [--lifetime-seconds N] [--dns-name NAME]... [--token-type OIDC|PKI] [--log-level LEVEL]`;

/** What the command needs from its process; injectable for tests. */
export interface CertificateCommandContext {
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
  stopSignal: Promise<string>;
}

/**
 * Parses the options, obtains the certificate and writes the files. Without `--renew` it
 * returns 0 once written; with it, it renews until `stopSignal`, then returns 0. The first
 * certificate failing (attestation refused, broker unreachable) rejects: exit 1.
 */
export async function runCertificateCommand(args: string[], context: CertificateCommandContext): Promise<number> {
  let v: Record<string, string | boolean | string[] | undefined>;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "out-dir": { type: "string" },
        renew: { type: "boolean" },
        "broker-url": { type: "string" },
        "broker-audience": { type: "string" },
        "broker-ca": { type: "string" },
        "key-service-ca": { type: "string" },
        "key-type": { type: "string" },
        "lifetime-seconds": { type: "string" },
        "dns-name": { type: "string", multiple: true },
        "token-type": { type: "string" },
        "log-level": { type: "string" },
      },
    }).values;
  } catch (error) {
    throw new BootstrapConfigError("certificate", error instanceof Error ? error.message : String(error));
  }
  const outDir = v["out-dir"];
  if (typeof outDir !== "string" || outDir === "")
    throw new BootstrapConfigError("--out-dir", "is required: the directory for tls.crt, tls.key and ca.crt");
  const brokerUrl = (v["broker-url"] as string | undefined) || context.env[BROKER_URL_ENV];
  if (!brokerUrl) throw new BootstrapConfigError("--broker-url", `is required (or set ${BROKER_URL_ENV})`);
  const audience = (v["broker-audience"] as string | undefined) || context.env[BROKER_AUDIENCE_ENV];
  if (!audience) throw new BootstrapConfigError("--broker-audience", `is required (or set ${BROKER_AUDIENCE_ENV})`);
  const keyType = v["key-type"] as WorkloadKeyType | undefined;
  if (keyType !== undefined && !KEY_TYPES.includes(keyType)) {
    throw new BootstrapConfigError("--key-type", `must be one of ${KEY_TYPES.join(", ")}`);
  }
  const lifetime = v["lifetime-seconds"] as string | undefined;
  if (lifetime !== undefined && !/^[1-9]\d{0,8}$/.test(lifetime)) {
    throw new BootstrapConfigError("--lifetime-seconds", "must be a positive whole number of seconds");
  }
  const tokenType = v["token-type"] as "OIDC" | "PKI" | undefined;
  if (tokenType !== undefined && tokenType !== "OIDC" && tokenType !== "PKI") {
    throw new BootstrapConfigError("--token-type", "must be OIDC or PKI");
  }
  const level = (v["log-level"] as string | undefined) ?? "info";
  if (!LEVELS.includes(level as LogLevel))
    throw new BootstrapConfigError("--log-level", `must be one of ${LEVELS.join(", ")}`);
  const logger = jsonLogger({
    level: level as LogLevel,
    base: { service: "confspace-bootstrap", command: "certificate" },
  });
  const brokerCa = typeof v["broker-ca"] === "string" ? await readPem(v["broker-ca"], "--broker-ca") : undefined;
  const serverCa =
    typeof v["key-service-ca"] === "string" ? await readPem(v["key-service-ca"], "--key-service-ca") : brokerCa;

  const options: CertificateRenewalOptions = {
    outDir,
    brokerUrl,
    audience,
    logger,
    ...(brokerCa !== undefined && { tls: { ca: brokerCa } }),
    ...(serverCa !== undefined && { serverCaPem: serverCa }),
    ...(keyType !== undefined && { keyType }),
    ...(lifetime !== undefined && { lifetimeSeconds: Number(lifetime) }),
    ...(Array.isArray(v["dns-name"]) && { dnsNames: v["dns-name"] }),
    ...(tokenType !== undefined && { tokenType }),
  };
  const renewal = startCertificateRenewal(options);
  try {
    const first = await Promise.race([renewal.ready.then(() => undefined), context.stopSignal]);
    if (first !== undefined) {
      logger.warn("stopped before a certificate was written", { signal: first });
      return 1;
    }
    if (v.renew !== true) return 0;
    // The engine's timers do not keep the process alive; this does, until a stop signal.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      const signal = await context.stopSignal;
      logger.info("stopping certificate renewal", { signal });
    } finally {
      clearInterval(keepAlive);
    }
    return 0;
  } finally {
    renewal.stop();
  }
}

async function readPem(path: string, option: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new BootstrapConfigError(option, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    throw new BootstrapConfigError(option, `${path} holds no PEM certificate`);
  return text;
}
