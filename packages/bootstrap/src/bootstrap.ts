// One start: resolve every secret, deliver it (environment or tmpfs file), start the
// credential endpoints, run the app, clean up, and return its exit code.
import { readFile } from "node:fs/promises";
import { ConfidentialSpaceBrokerCredential } from "@confspace/azure-credential";
import type { Logger } from "@confspace/core";
import { BROKER_AUDIENCE_ENV, BROKER_URL_ENV } from "@confspace/ekm-tls";
import { type AzureIdentityEndpoint, startAzureIdentityEndpoint } from "./azure-identity-endpoint.js";
import { type CertificateRenewal, startCertificateRenewal } from "./certificate-files.js";
import type { BootstrapConfig } from "./config.js";
import { writeAwsConfig, writeGoogleConfig } from "./credential-files.js";
import { BootstrapConfigError, SecretResolutionError } from "./errors.js";
import { resolveSecrets } from "./resolve-secrets.js";
import { type CommandExit, runCommand } from "./run-command.js";
import { createSecretsDir, type SecretsDir } from "./secrets-dir.js";

/** Names the app finds its file secrets under: the directory confspace-bootstrap created. */
export const SECRETS_DIR_ENV = "CONFSPACE_SECRETS_DIR";

/** Options of {@link runBootstrap}. */
export interface RunBootstrapOptions {
  /** The environment the app inherits, before secrets are added. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress lines (secret names, never values). Default: none. */
  logger?: Logger;
  /** Called once everything is in place, just before the app starts (tests). */
  onReady?: (context: { env: Readonly<Record<string, string>>; secretsDir?: string }) => void;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function envValue(name: string, scheme: string, value: Uint8Array): string {
  let text: string;
  try {
    text = decoder.decode(value);
  } catch {
    throw new SecretResolutionError(
      `secret "${name}" is not UTF-8 text and cannot be an environment variable; deliver it as a file`,
      { secret: name, scheme },
    );
  }
  if (text.includes("\0")) {
    throw new SecretResolutionError(
      `secret "${name}" contains a NUL byte and cannot be an environment variable; deliver it as a file`,
      { secret: name, scheme },
    );
  }
  return text;
}

/**
 * Resolves the configuration's secrets and runs `command args` with them. Nothing is
 * started when any secret fails. Secrets reach the app only through its environment or
 * files (never its arguments); the files' directory is removed when the app exits.
 *
 * @throws {SecretResolutionError} a secret could not be resolved or delivered (the app was not started).
 * @throws {SecretTargetError} the secrets directory is unsafe.
 */
export async function runBootstrap(
  config: BootstrapConfig,
  command: string,
  args: readonly string[],
  options: RunBootstrapOptions = {},
): Promise<CommandExit> {
  const schemes = new Map(config.secrets.map((s) => [s.name, s.scheme]));
  const resolved = await resolveSecrets(config, { logger: options.logger });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env ?? process.env)) if (value !== undefined) env[key] = value;
  let dir: SecretsDir | undefined;
  let credential: ConfidentialSpaceBrokerCredential | undefined;
  let endpoint: AzureIdentityEndpoint | undefined;
  let renewal: CertificateRenewal | undefined;
  try {
    for (const secret of resolved) {
      if (secret.target.kind === "env") {
        env[secret.target.name] = envValue(secret.name, schemes.get(secret.name) ?? "", secret.value);
      } else {
        dir ??= await createSecretsDir(config.secretsDir);
        await dir.write(secret.target.name, secret.value);
        env[SECRETS_DIR_ENV] = dir.path;
      }
      secret.value.fill(0);
    }
    if (config.aws || config.google) {
      dir ??= await createSecretsDir(config.secretsDir);
      if (config.aws) Object.assign(env, await writeAwsConfig(dir.path, config.aws));
      if (config.google) Object.assign(env, await writeGoogleConfig(dir.path, config.google));
    }
    if (config.azure) {
      credential = new ConfidentialSpaceBrokerCredential({
        brokerUrl: config.azure.brokerUrl,
        audience: config.azure.audience,
        ...(config.azure.caFile !== undefined && { ca: await readFile(config.azure.caFile, "utf8") }),
        logger: options.logger,
      });
      endpoint = await startAzureIdentityEndpoint({ credential, logger: options.logger });
      Object.assign(env, endpoint.env());
    }
    if (config.certificate) {
      const c = config.certificate;
      const brokerCa = c.caFile === undefined ? undefined : await readFile(c.caFile, "utf8");
      const serverCa = c.keyServiceCaFile === undefined ? brokerCa : await readFile(c.keyServiceCaFile, "utf8");
      const brokerUrl = c.brokerUrl ?? env[BROKER_URL_ENV];
      const audience = c.audience ?? env[BROKER_AUDIENCE_ENV];
      if (!brokerUrl || !audience) {
        throw new BootstrapConfigError(
          "certificate",
          `needs brokerUrl and audience, or ${BROKER_URL_ENV} and ${BROKER_AUDIENCE_ENV}`,
        );
      }
      renewal = startCertificateRenewal({
        outDir: c.outDir,
        brokerUrl,
        audience,
        ...(brokerCa !== undefined && { tls: { ca: brokerCa } }),
        ...(serverCa !== undefined && { serverCaPem: serverCa }),
        ...(c.keyType !== undefined && { keyType: c.keyType }),
        ...(c.lifetimeSeconds !== undefined && { lifetimeSeconds: c.lifetimeSeconds }),
        ...(c.dnsNames !== undefined && { dnsNames: c.dnsNames }),
        ...(options.logger !== undefined && { logger: options.logger }),
      });
      // Fail closed: the app starts only with its certificate files in place.
      await renewal.ready;
    }
    options.onReady?.({ env, ...(dir && { secretsDir: dir.path }) });
    return await runCommand(command, args, { env });
  } finally {
    renewal?.stop();
    await endpoint?.close();
    credential?.dispose();
    await dir?.remove();
  }
}
