// `pnpm --filter @confspace-examples/aws-s3 local`: the whole scenario on loopback — the
// Confidential Space emulator, the confspace token broker, a local AWS STS and S3, all
// started by @confspace/local (development only) — running the same app as main.ts twice:
// through the broker, then by web identity with short sessions so it lives through several
// credential expiries. Nothing here is needed in production.
import { fromBroker, fromWebIdentity } from "@confspace/aws-credential";
import { startLocalStack } from "@confspace/local";
import { runApp } from "./app.js";

export interface LocalRunOptions {
  /** Web identity session length, seconds (AWS's minimum is 900; the local STS is configured to allow less). */
  durationSeconds: number;
  /** Web identity rounds. */
  rounds: number;
  /** Rounds through the broker (whose sessions last at least 900 s, as on AWS). */
  brokerRounds: number;
  intervalMs: number;
  log?: (line: string) => void;
}

export interface LocalRunResult {
  /** Access key tails the broker rounds used. */
  broker: string[];
  /** Access key tails the web identity rounds used. */
  webIdentity: string[];
  /** Successful AssumeRoleWithWebIdentity calls. */
  stsCalls: number;
}

/** Runs the example against local endpoints; returns the access keys (tails) each round used. */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const stack = await startLocalStack({
    services: ["aws"],
    // AWS: 900. Short web identity sessions make expiry visible in seconds.
    aws: { minDurationSeconds: 1 },
    emulator: { writeTokenFile: false },
    log,
  });
  const aws = stack.aws!;
  const broker = stack.broker!;
  const { sts, s3 } = aws;

  const launcher = { socketPath: stack.emulator.socketPath };
  const viaBroker = fromBroker({
    brokerUrl: broker.url,
    audience: broker.audience,
    roleArn: aws.brokerRoleArn,
    ca: stack.pki.caPem,
    launcher,
  });
  const byWebIdentity = fromWebIdentity({
    roleArn: aws.webIdentityRoleArn,
    audience: aws.webIdentityAudience,
    durationSeconds: options.durationSeconds,
    stsEndpoint: sts.endpoint,
    region: sts.region,
    launcher,
  });
  const app = {
    bucket: aws.bucket,
    region: s3.region,
    intervalMs: options.intervalMs,
    s3: { endpoint: s3.endpoint, forcePathStyle: true },
    log,
  };
  try {
    log("— through the broker (900-second sessions: AWS's minimum, which the broker enforces)");
    const brokerRounds = await runApp({
      ...app,
      credentials: viaBroker,
      prefix: "broker",
      rounds: options.brokerRounds,
    });
    log(`— by web identity (${options.durationSeconds}-second sessions)`);
    const rounds = await runApp({ ...app, credentials: byWebIdentity, prefix: "web-identity", rounds: options.rounds });
    const stsCalls = sts.requests.filter((c) => c.action === "AssumeRoleWithWebIdentity" && c.status === 200).length;
    const sessions = new Set(rounds.map((r) => r.keyTail)).size;
    log(`${stsCalls} AssumeRoleWithWebIdentity calls, ${sessions} sessions used, no request refused`);
    return { broker: brokerRounds.map((r) => r.keyTail), webIdentity: rounds.map((r) => r.keyTail), stsCalls };
  } finally {
    viaBroker.dispose();
    byWebIdentity.dispose();
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runLocal({ durationSeconds: 6, rounds: 10, brokerRounds: 3, intervalMs: 2_000 });
}
