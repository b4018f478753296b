// Test-only: the one local stack (@confspace/local's startLocalStack, service `aws`: emulator,
// local STS and S3, the real token broker and its PKI) with this package's role ROLE, which
// both the workload (web identity) and the broker may assume. Removed in stop().
import type { Emulator } from "@confspace/emulator";
import { type LocalAwsSts, type LocalS3, startLocalStack, type TestPki } from "@confspace/testing";

export const ACCOUNT = "123456789012";
export const ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-app`;
/** The audience the local stack's IAM OIDC provider (the emulator) lists. */
export const WEB_AUDIENCE = `https://aws.confspace.local/${ACCOUNT}`;
export const BROKER_AUDIENCE = "https://broker.confspace.test";
/** The local stack's bucket. */
export const BUCKET = "confspace-local";

export interface AwsStack {
  emulator: Emulator;
  sts: LocalAwsSts;
  s3: LocalS3;
  pki: TestPki;
  brokerUrl: string;
  stop(): Promise<void>;
}

export async function startAwsStack(): Promise<AwsStack> {
  const stack = await startLocalStack({
    services: ["aws"],
    log: () => {},
    emulator: { writeTokenFile: false },
    aws: {
      minDurationSeconds: 1, // sessions of a few seconds, to cross expiries in a test
      roles: ({ provider, imageDigest, webIdentityAudience, brokerUserArn }) => [
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
                  StringEquals: {
                    [`${provider}:aud`]: webIdentityAudience,
                    "aws:RequestTag/container.image_digest": imageDigest,
                  },
                },
              },
              {
                Effect: "Allow",
                Principal: { AWS: brokerUserArn },
                Action: ["sts:AssumeRole", "sts:TagSession"],
                Condition: { StringEquals: { "aws:RequestTag/container.image_digest": imageDigest } },
              },
            ],
          },
        },
      ],
    },
    broker: {
      audience: BROKER_AUDIENCE,
      editConfig: (config) => {
        config.grants![0]!.aws = [
          { roleArn: ROLE, sessionTags: { "container.image_digest": "submods.container.image_digest" } },
        ];
        config.limits = { rateLimit: { ratePerSecond: 1000, burst: 10_000 } };
      },
    },
  });
  const aws = stack.aws!;
  if (aws.webIdentityAudience !== WEB_AUDIENCE || aws.bucket !== BUCKET) {
    await stack.stop();
    throw new Error("the local stack's AWS audience or bucket changed: update test/aws-stack.ts");
  }
  return {
    emulator: stack.emulator,
    sts: aws.sts,
    s3: aws.s3,
    pki: stack.pki,
    brokerUrl: stack.broker!.url,
    stop: () => stack.stop(),
  };
}
