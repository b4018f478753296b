// Test-only: the one local stack (@confspace/local's startLocalStack, service `aws`: emulator,
// local STS and S3, the real token broker and its PKI) plus the roles these tests need.
import type { Emulator } from "@confspace/emulator";
import {
  type LocalAwsRole,
  type LocalAwsSts,
  type LocalS3,
  type PolicyDocument,
  startLocalStack,
  type TestPki,
} from "@confspace/testing";

/** Test-only: what the aws-credential tests run against. */
export interface LocalAws {
  emulator: Emulator;
  sts: LocalAwsSts;
  s3: LocalS3;
  /** The emulator workload's image digest. */
  imageDigest: string;
  /** The audience the emulator's IAM OIDC provider lists. */
  audience: string;
  /** The bucket every test role may use. */
  bucket: string;
  /** The throwaway CA the broker's certificate chains to. */
  pki: TestPki;
  /** The real token broker, granting READER_ROLE to the emulator's image. */
  broker: { url: string; audience: string };
  stop(): Promise<void>;
}

export const ACCOUNT = "123456789012";
export const READER_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-reader`;
/** Trusts only another image digest. */
export const OTHER_IMAGE_ROLE = `arn:aws:iam::${ACCOUNT}:role/other-image`;
/** Trusts OIDC tokens by audience alone (no tags). */
export const OIDC_ROLE = `arn:aws:iam::${ACCOUNT}:role/oidc-only`;
/** Max session 900 s. */
export const SHORT_ROLE = `arn:aws:iam::${ACCOUNT}:role/short-sessions`;
/** The broker grant's maximum session, seconds: longer requests are clamped to it. */
export const GRANT_MAX_SECONDS = 1800;

interface TrustContext {
  provider: string;
  webIdentityAudience: string;
  brokerUserArn: string;
}

/** The web identity trust policy the README recommends for `digest`, plus the broker path. */
export function webIdentityTrust(context: TrustContext, digest: string): PolicyDocument {
  const { provider } = context;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
        Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        Condition: {
          StringEquals: {
            [`${provider}:aud`]: context.webIdentityAudience,
            "aws:RequestTag/container.image_digest": digest,
            "aws:RequestTag/swname": "CONFIDENTIAL_SPACE",
          },
          // Google documents no dbgstat tag; requiring STABLE also refuses debug images (they have no support attributes).
          StringLike: { "aws:RequestTag/confidential_space.support_attributes": "*STABLE*" },
        },
      },
      {
        // The broker path: the broker's user, for sessions tagged with the approved digest.
        Effect: "Allow",
        Principal: { AWS: context.brokerUserArn },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:RequestTag/container.image_digest": digest } },
      },
    ],
  };
}

function testRoles(context: TrustContext & { imageDigest: string }): LocalAwsRole[] {
  const { provider, imageDigest } = context;
  return [
    { arn: READER_ROLE, trustPolicy: webIdentityTrust(context, imageDigest), maxSessionDurationSeconds: 3600 },
    { arn: OTHER_IMAGE_ROLE, trustPolicy: webIdentityTrust(context, `sha256:${"0".repeat(64)}`) },
    {
      arn: OIDC_ROLE,
      trustPolicy: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { [`${provider}:aud`]: context.webIdentityAudience } },
          },
        ],
      },
    },
    { arn: SHORT_ROLE, trustPolicy: webIdentityTrust(context, imageDigest), maxSessionDurationSeconds: 900 },
  ];
}

export async function startLocalAws(): Promise<LocalAws> {
  const stack = await startLocalStack({
    services: ["aws"],
    log: () => {},
    // `now` looks Date up at each call, so tests that fake Date move the emulator's clock too.
    emulator: { writeTokenFile: false, now: () => Date.now() },
    aws: { roles: testRoles },
    broker: {
      editConfig: (config) => {
        const grant = config.grants![0]!;
        grant.aws = [
          {
            roleArn: READER_ROLE,
            maxDurationSeconds: GRANT_MAX_SECONDS,
            sessionTags: {
              "container.image_digest": "submods.container.image_digest",
              "confidential_space.support_attributes": "submods.confidential_space.support_attributes",
            },
          },
        ];
        // A grant for another image: this workload never gets OTHER_IMAGE_ROLE.
        config.grants!.push({
          name: "other-image",
          match: { imageDigests: [`sha256:${"1".repeat(64)}`] },
          aws: [{ roleArn: OTHER_IMAGE_ROLE }],
        });
        config.limits = { rateLimit: { ratePerSecond: 1000, burst: 100_000 } };
      },
    },
  });
  const aws = stack.aws!;
  return {
    emulator: stack.emulator,
    sts: aws.sts,
    s3: aws.s3,
    imageDigest: stack.imageDigest,
    audience: aws.webIdentityAudience,
    bucket: aws.bucket,
    pki: stack.pki,
    broker: { url: stack.broker!.url, audience: stack.broker!.audience },
    stop: () => stack.stop(),
  };
}

/** Waits (bounded) until `check` holds, polling every 10 ms. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
