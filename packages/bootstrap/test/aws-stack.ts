// Test-only: the emulator, a local AWS STS (web identity for the emulator's issuer, and
// AssumeRole for the token broker's IAM user), a local S3 trusting the STS's sessions, and
// the real token broker with an AWS grant. Everything on loopback, removed in stop().
import { type Emulator, startEmulator } from "@confspace/emulator";
import {
  createTestPki,
  type LocalAwsSts,
  type LocalS3,
  startLocalAwsSts,
  startLocalS3,
  type TestPki,
} from "@confspace/testing";
import { type Broker, type BrokerConfig, createBroker } from "@confspace/token-broker";
import { shutdown } from "./processes.js";

export const ACCOUNT = "123456789012";
export const ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-app`;
export const WEB_AUDIENCE = `https://aws.confspace.test/${ACCOUNT}`;
export const BROKER_AUDIENCE = "https://broker.confspace.test";
export const BUCKET = "confspace-data";
const BROKER_USER = {
  arn: `arn:aws:iam::${ACCOUNT}:user/confspace-broker`,
  accessKeyId: "AKIABOOTSTRAPBROKER1",
  secretAccessKey: "bootstrap-broker-secret-key-do-not-log",
};

export interface AwsStack {
  emulator: Emulator;
  sts: LocalAwsSts;
  s3: LocalS3;
  pki: TestPki;
  broker: Broker;
  brokerUrl: string;
  stop(): Promise<void>;
}

export async function startAwsStack(): Promise<AwsStack> {
  const emulator = await startEmulator({ writeTokenFile: false });
  const provider = emulator.issuer.replace(/^https?:\/\//, "");
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const sts = await startLocalAwsSts({
    oidcProviders: [{ url: emulator.issuer, clientIds: [WEB_AUDIENCE] }],
    users: [BROKER_USER],
    minDurationSeconds: 1, // sessions of a few seconds, to cross expiries in a test
    roles: [
      {
        arn: ROLE,
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
              Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
              Condition: {
                StringEquals: { [`${provider}:aud`]: WEB_AUDIENCE, "aws:RequestTag/container.image_digest": digest },
              },
            },
            {
              Effect: "Allow",
              Principal: { AWS: BROKER_USER.arn },
              Action: ["sts:AssumeRole", "sts:TagSession"],
              Condition: { StringEquals: { "aws:RequestTag/container.image_digest": digest } },
            },
          ],
        },
      },
    ],
  });
  const s3 = await startLocalS3({ sts, buckets: [{ name: BUCKET, allowedPrincipals: [ROLE] }] });
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
          name: "app",
          match: { imageDigests: [digest] },
          aws: [{ roleArn: ROLE, sessionTags: { "container.image_digest": "submods.container.image_digest" } }],
        },
      ],
      limits: { rateLimit: { ratePerSecond: 1000, burst: 10_000 } },
      // No metrics listener (a fixed port) in tests; the key is newer than some broker versions.
      metrics: false,
    } as BrokerConfig,
    {
      env: {
        BROKER_AWS_ACCESS_KEY_ID: BROKER_USER.accessKeyId,
        BROKER_AWS_SECRET_ACCESS_KEY: BROKER_USER.secretAccessKey,
      },
    },
  );
  const { port } = await broker.listen();
  return {
    emulator,
    sts,
    s3,
    pki,
    broker,
    brokerUrl: `https://localhost:${port}`,
    async stop() {
      await broker.close({ timeoutMs: 1_000 });
      await Promise.allSettled([shutdown(s3), shutdown(sts)]);
      await shutdown(emulator);
      await pki.cleanup();
    },
  };
}
