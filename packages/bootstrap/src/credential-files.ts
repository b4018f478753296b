// The files that point other processes' SDKs at confspace-bootstrap's own credential
// helpers: an AWS config whose credential_process runs `aws-credential-process`, and a
// Google external-account configuration whose executable source runs
// `google-executable-source`. They hold no secret (command lines and endpoints only).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createFederatedAuthClient } from "@confspace/gcp-federation";
import type { AwsProcessConfig, GoogleExecutableConfig } from "./config.js";
import { BootstrapConfigError } from "./errors.js";

/**
 * The command line that runs this CLI again: the Node binary, its flags (e.g. a loader)
 * and the script. Google's Node library splits commands on spaces, so none may contain one.
 */
export function selfCommand(): string[] {
  const parts = [process.execPath, ...process.execArgv, process.argv[1] ?? ""];
  if (parts.some((part) => part === "" || /\s/.test(part))) {
    throw new BootstrapConfigError(
      "aws/google",
      "the path of node or of confspace-bootstrap contains a space; install it where it does not",
    );
  }
  return parts;
}

/** The `aws-credential-process` arguments for `aws:`. */
export function awsProcessArgs(aws: AwsProcessConfig): string[] {
  const args = ["aws-credential-process", "--role", aws.roleArn];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(flag, String(value));
  };
  add("--broker-url", aws.brokerUrl);
  add("--broker-audience", aws.audience);
  add("--broker-ca", aws.caFile);
  add("--web-identity-audience", aws.webIdentityAudience);
  add("--region", aws.region);
  add("--sts-endpoint", aws.stsEndpoint);
  add("--duration-seconds", aws.durationSeconds);
  return args;
}

/** Writes `DIR/aws-config` (a `[default]` profile) and returns the app's variables for it. */
export async function writeAwsConfig(dir: string, aws: AwsProcessConfig): Promise<Record<string, string>> {
  const path = join(dir, "aws-config");
  await writeFile(path, `[default]\ncredential_process = ${[...selfCommand(), ...awsProcessArgs(aws)].join(" ")}\n`, {
    mode: 0o600,
    flag: "wx",
  });
  return { AWS_CONFIG_FILE: path };
}

/** Writes `DIR/google-credentials.json` and returns the app's variables for it. */
export async function writeGoogleConfig(dir: string, google: GoogleExecutableConfig): Promise<Record<string, string>> {
  const client = createFederatedAuthClient({
    audience: google.audience,
    serviceAccount: google.serviceAccount,
    tokenAudience: google.tokenAudience,
    tokenUrl: google.tokenUrl,
    iamCredentialsEndpoint: google.iamCredentialsEndpoint,
  });
  try {
    const command = [
      ...selfCommand(),
      "google-executable-source",
      ...(google.tokenAudience ? ["--token-audience", google.tokenAudience] : []),
    ];
    const config = client.toCredentialConfig({
      executable: { command: command.join(" "), outputFile: join(dir, "google-executable-output.json") },
    });
    const path = join(dir, "google-credentials.json");
    await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600, flag: "wx" });
    return { GOOGLE_APPLICATION_CREDENTIALS: path, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" };
  } finally {
    client.dispose();
  }
}
