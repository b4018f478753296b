// `pnpm --filter @confspace-examples/aws-s3 local`: the whole scenario on loopback — the
// Confidential Space emulator, a local AWS STS and S3 from @confspace/testing — running the
// same app as main.ts, by web identity with short sessions so it lives through several
// credential expiries. Nothing here is needed in production.
import { fromWebIdentity } from "@confspace/aws-credential";
import { startEmulator } from "@confspace/emulator";
import { startLocalAwsSts, startLocalS3 } from "@confspace/testing";
import { runApp } from "./app.js";

export const ACCOUNT = "123456789012";
export const WEB_IDENTITY_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-example-web-identity`;
export const AUDIENCE = `https://aws.confspace.example/${ACCOUNT}`;
export const BUCKET = "confspace-example";

export interface LocalRunOptions {
  /** Session length asked for, seconds (AWS's minimum is 900; the local STS is configured to allow less). */
  durationSeconds: number;
  rounds: number;
  intervalMs: number;
  log?: (line: string) => void;
}

/** Runs the example against local endpoints; returns the access keys (tails) each round used. */
export async function runLocal(options: LocalRunOptions): Promise<{ webIdentity: string[]; stsCalls: number }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const emulator = await startEmulator({ writeTokenFile: false });
  const provider = emulator.issuer.replace(/^https?:\/\//, "");
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const sts = await startLocalAwsSts({
    minDurationSeconds: 1, // AWS: 900. Short sessions make expiry visible in seconds.
    oidcProviders: [{ url: emulator.issuer, clientIds: [AUDIENCE] }],
    roles: [
      {
        arn: WEB_IDENTITY_ROLE,
        // The trust policy the README recommends, with the emulator's issuer as provider.
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
              Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
              Condition: {
                StringEquals: {
                  [`${provider}:aud`]: AUDIENCE,
                  "aws:RequestTag/container.image_digest": digest,
                  "aws:RequestTag/swname": "CONFIDENTIAL_SPACE",
                  "aws:RequestTag/dbgstat": "disabled-since-boot",
                },
                StringLike: { "aws:RequestTag/confidential_space.support_attributes": "*STABLE*" },
              },
            },
          ],
        },
      },
    ],
  });
  const s3 = await startLocalS3({ sts, buckets: [{ name: BUCKET, allowedPrincipals: [WEB_IDENTITY_ROLE] }] });
  log(`emulator issuer ${emulator.issuer}, local STS ${sts.endpoint}, local S3 ${s3.endpoint}`);

  const credentials = fromWebIdentity({
    roleArn: WEB_IDENTITY_ROLE,
    audience: AUDIENCE,
    durationSeconds: options.durationSeconds,
    stsEndpoint: sts.endpoint,
    region: sts.region,
    launcher: { socketPath: emulator.socketPath },
  });
  try {
    log(`— by web identity (${options.durationSeconds}-second sessions)`);
    const rounds = await runApp({
      credentials,
      bucket: BUCKET,
      region: s3.region,
      prefix: "web-identity",
      rounds: options.rounds,
      intervalMs: options.intervalMs,
      s3: { endpoint: s3.endpoint, forcePathStyle: true },
      log,
    });
    const stsCalls = sts.calls.filter((c) => c.status === 200).length;
    log(
      `${stsCalls} AssumeRoleWithWebIdentity calls, ${new Set(rounds.map((r) => r.keyTail)).size} sessions used, no request refused`,
    );
    return { webIdentity: rounds.map((r) => r.keyTail), stsCalls };
  } finally {
    credentials.dispose();
    await Promise.all([s3.stop(), sts.stop()]);
    await emulator.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runLocal({ durationSeconds: 6, rounds: 10, intervalMs: 2_000 });
}
