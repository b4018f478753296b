// Entry point inside Confidential Space (or the emulator): pick the credential path
// from the environment and run the put/get rounds. See README.md.
import { fromBroker, fromWebIdentity } from "@confspace/aws-credential";
import { runApp } from "./app.js";

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] || fallback;
  if (value === undefined) throw new Error(`Set ${name} (see examples/aws-s3/README.md).`);
  return value;
};

const path = env("EXAMPLE_AWS_PATH", "web-identity");
const roleArn = env("EXAMPLE_ROLE_ARN");
const credentials =
  path === "broker"
    ? // CONFSPACE_BROKER_URL and CONFSPACE_BROKER_AUDIENCE are read by fromBroker itself.
      fromBroker({ roleArn })
    : fromWebIdentity({ roleArn, audience: env("EXAMPLE_AWS_AUDIENCE") });

try {
  await runApp({
    credentials,
    bucket: env("EXAMPLE_BUCKET"),
    region: env("AWS_REGION", "us-east-1"),
    prefix: env("EXAMPLE_PREFIX", "confspace-example"),
    rounds: Number(env("EXAMPLE_ROUNDS", "3")),
    intervalMs: Number(env("EXAMPLE_INTERVAL_MS", "1000")),
  });
} finally {
  credentials.dispose();
}
