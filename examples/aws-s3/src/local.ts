// `pnpm --filter @confspace-examples/aws-s3 local`: the whole scenario on loopback — the
// Confidential Space emulator, the confspace token broker, a local AWS STS and S3 from
// @confspace/testing — running the same app as main.ts twice: through the broker, then by
// web identity with short sessions so it lives through several credential expiries.
// Nothing here is needed in production.
import { fromBroker, fromWebIdentity } from "@confspace/aws-credential";
import { startEmulator } from "@confspace/emulator";
import { createTestPki, type PolicyDocument, startLocalAwsSts, startLocalS3 } from "@confspace/testing";
import { createBroker } from "@confspace/token-broker";
import { runApp } from "./app.js";

export const ACCOUNT = "123456789012";
export const WEB_IDENTITY_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-example-web-identity`;
export const BROKER_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-example-broker`;
export const AUDIENCE = `https://aws.confspace.example/${ACCOUNT}`;
export const BROKER_AUDIENCE = "https://broker.confspace.example";
export const BUCKET = "confspace-example";
/** The broker's own AWS identity (its long-term key lives only in the broker's environment). */
const BROKER_USER = {
  arn: `arn:aws:iam::${ACCOUNT}:user/confspace-broker`,
  accessKeyId: "AKIAEXAMPLEBROKER001",
  secretAccessKey: "example-broker-secret-access-key-000000",
};

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

/** The trust policy the README recommends for web identity, with `provider` as the IAM OIDC provider. */
function webIdentityTrust(provider: string, digest: string): PolicyDocument {
  return {
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
          },
          // Google documents no dbgstat tag; requiring STABLE also refuses debug images (they have no support attributes).
          StringLike: { "aws:RequestTag/confidential_space.support_attributes": "*STABLE*" },
        },
      },
    ],
  };
}

/** Trusts the broker's identity, for sessions tagged with the approved image digest. */
function brokerTrust(digest: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: BROKER_USER.arn },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:RequestTag/container.image_digest": digest } },
      },
    ],
  };
}

/** Runs the example against local endpoints; returns the access keys (tails) each round used. */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const emulator = await startEmulator({ writeTokenFile: false });
  const provider = emulator.issuer.replace(/^https?:\/\//, "");
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const sts = await startLocalAwsSts({
    minDurationSeconds: 1, // AWS: 900. Short sessions make expiry visible in seconds.
    oidcProviders: [{ url: emulator.issuer, clientIds: [AUDIENCE] }],
    users: [BROKER_USER],
    roles: [
      { arn: WEB_IDENTITY_ROLE, trustPolicy: webIdentityTrust(provider, digest) },
      { arn: BROKER_ROLE, trustPolicy: brokerTrust(digest) },
    ],
  });
  const s3 = await startLocalS3({
    sts,
    buckets: [{ name: BUCKET, allowedPrincipals: [WEB_IDENTITY_ROLE, BROKER_ROLE] }],
  });
  const pki = await createTestPki();
  const broker = createBroker(
    {
      listen: { host: "127.0.0.1", port: 0 },
      tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
      attestation: { audience: BROKER_AUDIENCE, issuer: emulator.issuer, policy: { imageDigests: [digest] } },
      upstreams: {
        aws: {
          region: sts.region,
          endpoint: sts.endpoint,
          credentials: {
            accessKeyIdEnv: "BROKER_AWS_ACCESS_KEY_ID",
            secretAccessKeyEnv: "BROKER_AWS_SECRET_ACCESS_KEY",
          },
        },
      },
      grants: [
        {
          name: "aws-s3-example",
          match: { imageDigests: [digest] },
          aws: [
            {
              roleArn: BROKER_ROLE,
              maxDurationSeconds: 900,
              sessionTags: { "container.image_digest": "submods.container.image_digest" },
            },
          ],
        },
      ],
      // The demo needs no Prometheus listener (its default port 9464 may be taken).
      metrics: false,
    },
    {
      env: {
        BROKER_AWS_ACCESS_KEY_ID: BROKER_USER.accessKeyId,
        BROKER_AWS_SECRET_ACCESS_KEY: BROKER_USER.secretAccessKey,
      },
    },
  );
  const { port } = await broker.listen();
  const brokerUrl = `https://127.0.0.1:${port}`;
  log(`emulator issuer ${emulator.issuer}, broker ${brokerUrl}, local STS ${sts.endpoint}, local S3 ${s3.endpoint}`);

  const launcher = { socketPath: emulator.socketPath };
  const viaBroker = fromBroker({ brokerUrl, audience: BROKER_AUDIENCE, roleArn: BROKER_ROLE, ca: pki.caPem, launcher });
  const byWebIdentity = fromWebIdentity({
    roleArn: WEB_IDENTITY_ROLE,
    audience: AUDIENCE,
    durationSeconds: options.durationSeconds,
    stsEndpoint: sts.endpoint,
    region: sts.region,
    launcher,
  });
  const app = {
    bucket: BUCKET,
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
    await broker.close({ timeoutMs: 1_000 });
    await Promise.all([s3.close(), sts.close()]);
    await emulator.stop();
    await pki.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runLocal({ durationSeconds: 6, rounds: 10, brokerRounds: 3, intervalMs: 2_000 });
}
