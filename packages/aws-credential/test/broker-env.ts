// Test-only: the real confspace token broker (createBroker) in front of the local STS, with a
// test PKI for its TLS 1.3 listener. The broker signs AssumeRole as BROKER_USER.
import { createTestPki, type TestPki } from "@confspace/testing";
import { type Broker, type BrokerConfig, createBroker } from "@confspace/token-broker";
import { BROKER_USER, type LocalAws, OTHER_IMAGE_ROLE, READER_ROLE } from "./local-aws.js";

export const BROKER_AUDIENCE = "https://broker.confspace.test";
/** The grant's maximum session, seconds: longer requests are clamped to it. */
export const GRANT_MAX_SECONDS = 1800;

export interface RunningBroker {
  broker: Broker;
  url: string;
  pki: TestPki;
  stop(): Promise<void>;
}

export async function startBroker(aws: LocalAws, edit?: (config: BrokerConfig) => void): Promise<RunningBroker> {
  const pki = await createTestPki();
  const config: BrokerConfig = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
    attestation: {
      audience: BROKER_AUDIENCE,
      issuer: aws.emulator.issuer,
      policy: { imageDigests: [aws.imageDigest] },
    },
    upstreams: {
      aws: {
        region: aws.sts.region,
        endpoint: aws.sts.endpoint,
        credentials: { accessKeyIdEnv: "BROKER_AWS_ACCESS_KEY_ID", secretAccessKeyEnv: "BROKER_AWS_SECRET_ACCESS_KEY" },
      },
    },
    grants: [
      {
        name: "s3-reader",
        match: { imageDigests: [aws.imageDigest] },
        aws: [
          {
            roleArn: READER_ROLE,
            maxDurationSeconds: GRANT_MAX_SECONDS,
            sessionTags: {
              "container.image_digest": "submods.container.image_digest",
              "confidential_space.support_attributes": "submods.confidential_space.support_attributes",
            },
          },
        ],
      },
      // A grant for another image: this workload never gets OTHER_IMAGE_ROLE.
      {
        name: "other-image",
        match: { imageDigests: [`sha256:${"1".repeat(64)}`] },
        aws: [{ roleArn: OTHER_IMAGE_ROLE }],
      },
    ],
    limits: { rateLimit: { ratePerSecond: 1000, burst: 100_000 } },
    // No metrics listener: its default port would collide between parallel test files.
    metrics: false,
  };
  edit?.(config);
  const broker = createBroker(config, {
    env: {
      BROKER_AWS_ACCESS_KEY_ID: BROKER_USER.accessKeyId,
      BROKER_AWS_SECRET_ACCESS_KEY: BROKER_USER.secretAccessKey,
    },
  });
  const { port } = await broker.listen();
  return {
    broker,
    url: `https://127.0.0.1:${port}`,
    pki,
    stop: async () => {
      await broker.close({ timeoutMs: 1_000 });
      await pki.cleanup();
    },
  };
}
