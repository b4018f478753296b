// CLI entry: the TEE container's command. Reads its configuration from the environment
// (Confidential Space passes it with `tee-env-*` metadata, allowed by the image's launch
// policy), runs the app once, and exits 0 or 1.
//
//   CONFSPACE_BROKER_URL        https://broker.example.com:8443
//   CONFSPACE_BROKER_AUDIENCE   the broker's attestation.audience
//   AZURE_STORAGE_ACCOUNT_URL   https://myaccount.blob.core.windows.net
//   AZURE_STORAGE_CONTAINER     container name (default confspace-demo)
//   BROKER_CA_FILE              optional PEM file: the broker's private CA
import { readFileSync } from "node:fs";
import { BROKER_AUDIENCE_ENV, BROKER_URL_ENV } from "@confspace/azure-credential";
import { type AzureBlobAppConfig, describeError, run } from "./app.js";

/** The app's configuration from environment variables; throws naming the missing one. */
export function configFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): AzureBlobAppConfig {
  const required = (name: string) => {
    const value = env[name]?.trim();
    if (!value) throw new Error(`${name} is not set (see examples/azure-blob/README.md)`);
    return value;
  };
  const caFile = env.BROKER_CA_FILE?.trim();
  return {
    brokerUrl: required(BROKER_URL_ENV),
    audience: required(BROKER_AUDIENCE_ENV),
    accountUrl: required("AZURE_STORAGE_ACCOUNT_URL"),
    container: env.AZURE_STORAGE_CONTAINER?.trim() || "confspace-demo",
    ...(caFile ? { brokerCa: readFileSync(caFile, "utf8") } : {}),
  };
}

if (import.meta.main) {
  try {
    await run(configFromEnv());
  } catch (error) {
    console.error(`azure-blob example failed: ${describeError(error)}`);
    process.exitCode = 1;
  }
}
