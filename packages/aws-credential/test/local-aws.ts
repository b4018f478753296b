import { type Emulator, startEmulator } from "@confspace/emulator";
import {
  type LocalAwsSts,
  type LocalS3,
  type PolicyDocument,
  startLocalAwsSts,
  startLocalS3,
} from "@confspace/testing";

/** Test-only: an emulator, a local STS trusting its issuer, and a local S3 trusting that STS. */
export interface LocalAws {
  emulator: Emulator;
  sts: LocalAwsSts;
  s3: LocalS3;
  /** The IAM OIDC provider name of the emulator's issuer (URL without scheme), for condition keys. */
  provider: string;
  /** The emulator workload's image digest. */
  imageDigest: string;
  stop(): Promise<void>;
}

export const ACCOUNT = "123456789012";
export const AUDIENCE = "https://aws.confspace.test/123456789012";
export const READER_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-reader`;
/** Trusts only another image digest. */
export const OTHER_IMAGE_ROLE = `arn:aws:iam::${ACCOUNT}:role/other-image`;
/** Trusts OIDC tokens by audience alone (no tags). */
export const OIDC_ROLE = `arn:aws:iam::${ACCOUNT}:role/oidc-only`;
/** Max session 900 s. */
export const SHORT_ROLE = `arn:aws:iam::${ACCOUNT}:role/short-sessions`;
export const BROKER_USER = {
  arn: `arn:aws:iam::${ACCOUNT}:user/confspace-broker`,
  accessKeyId: "AKIACONFSPACEBROKER1",
  secretAccessKey: "local-broker-secret-key-0123456789abcdef",
};
export const BUCKET = "confspace-data";

/** The web identity trust policy the README recommends, for `provider` and `digest`. */
export function webIdentityTrust(
  provider: string,
  digest: string,
  actions = ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
        Action: actions,
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
      {
        // The broker path: the broker's user, for sessions tagged with the approved digest.
        Effect: "Allow",
        Principal: { AWS: BROKER_USER.arn },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:RequestTag/container.image_digest": digest } },
      },
    ],
  };
}

export async function startLocalAws(
  options: { minDurationSeconds?: number; readerMaxSeconds?: number } = {},
): Promise<LocalAws> {
  // `now` looks Date up at each call, so tests that fake Date move the emulator's clock too.
  const emulator = await startEmulator({ writeTokenFile: false, now: () => Date.now() });
  const provider = emulator.issuer.replace(/^https?:\/\//, "");
  const imageDigest = String(
    (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest,
  );
  const sts = await startLocalAwsSts({
    oidcProviders: [{ url: emulator.issuer, clientIds: [AUDIENCE] }],
    users: [BROKER_USER],
    minDurationSeconds: options.minDurationSeconds,
    roles: [
      {
        arn: READER_ROLE,
        trustPolicy: webIdentityTrust(provider, imageDigest),
        maxSessionDurationSeconds: options.readerMaxSeconds ?? 3600,
      },
      { arn: OTHER_IMAGE_ROLE, trustPolicy: webIdentityTrust(provider, `sha256:${"0".repeat(64)}`) },
      {
        arn: OIDC_ROLE,
        trustPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
              Action: "sts:AssumeRoleWithWebIdentity",
              Condition: { StringEquals: { [`${provider}:aud`]: AUDIENCE } },
            },
          ],
        },
      },
      { arn: SHORT_ROLE, trustPolicy: webIdentityTrust(provider, imageDigest), maxSessionDurationSeconds: 900 },
    ],
  });
  const s3 = await startLocalS3({
    sts,
    buckets: [{ name: BUCKET, allowedPrincipals: [READER_ROLE, OIDC_ROLE, SHORT_ROLE] }],
  });
  return {
    emulator,
    sts,
    s3,
    provider,
    imageDigest,
    stop: async () => {
      await Promise.all([s3.close(), sts.close()]);
      await emulator.stop();
    },
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
