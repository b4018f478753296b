import { randomBytes } from "node:crypto";
import { type LocalS3, startLocalS3 } from "../../aws/s3.js";
import { type LocalAwsSts, type PolicyDocument, startLocalAwsSts } from "../../aws/sts.js";
import type { LocalStackOptions } from "../stack-types.js";
import type { BrokerPart } from "./broker.js";

const ACCOUNT = "123456789012";
const WEB_IDENTITY_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-local-web-identity`;
const BROKER_ROLE = `arn:aws:iam::${ACCOUNT}:role/confspace-local-broker`;
const WEB_IDENTITY_AUDIENCE = `https://aws.confspace.local/${ACCOUNT}`;
const BUCKET = "confspace-local";
const KEY_ID_ENV = "CONFSPACE_LOCAL_BROKER_AWS_ACCESS_KEY_ID";
const SECRET_ENV = "CONFSPACE_LOCAL_BROKER_AWS_SECRET_ACCESS_KEY";

export interface AwsServices {
  sts: LocalAwsSts;
  s3: LocalS3;
  region: string;
  bucket: string;
  brokerRoleArn: string;
  webIdentityRoleArn: string;
  webIdentityAudience: string;
  broker: BrokerPart;
}

/** The trust policy a web identity role should have: audience, image digest, Confidential Space, a STABLE image. */
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
            [`${provider}:aud`]: WEB_IDENTITY_AUDIENCE,
            "aws:RequestTag/container.image_digest": digest,
            "aws:RequestTag/swname": "CONFIDENTIAL_SPACE",
          },
          // There is no dbgstat tag; requiring STABLE also refuses debug images (they have no support attributes).
          StringLike: { "aws:RequestTag/confidential_space.support_attributes": "*STABLE*" },
        },
      },
    ],
  };
}

/** Trusts the broker's own identity, for sessions tagged with the approved image digest. */
function brokerTrust(brokerArn: string, digest: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: brokerArn },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:RequestTag/container.image_digest": digest } },
      },
    ],
  };
}

/** Local STS (the emulator as an IAM OIDC provider, the broker as an IAM user) and S3 with one bucket. */
export async function startAwsServices(
  input: { issuer: string; imageDigest: string },
  options: NonNullable<LocalStackOptions["aws"]>,
  track: (close: () => Promise<void>) => void,
  log: (line: string) => void,
): Promise<AwsServices> {
  const provider = input.issuer.replace(/^https?:\/\//, "");
  const brokerUser = {
    arn: `arn:aws:iam::${ACCOUNT}:user/confspace-broker`,
    accessKeyId: `AKIALOCAL${randomBytes(6).toString("hex").toUpperCase().slice(0, 11)}`,
    secretAccessKey: randomBytes(30).toString("base64url"),
    ...options.brokerCredentials,
  };
  const extraRoles =
    options.roles?.({
      account: ACCOUNT,
      provider,
      imageDigest: input.imageDigest,
      webIdentityAudience: WEB_IDENTITY_AUDIENCE,
      brokerUserArn: brokerUser.arn,
    }) ?? [];
  const sts = await startLocalAwsSts({
    minDurationSeconds: options.minDurationSeconds ?? 900,
    oidcProviders: [{ url: input.issuer, clientIds: [WEB_IDENTITY_AUDIENCE] }],
    users: [brokerUser],
    roles: [
      { arn: WEB_IDENTITY_ROLE, trustPolicy: webIdentityTrust(provider, input.imageDigest) },
      { arn: BROKER_ROLE, trustPolicy: brokerTrust(brokerUser.arn, input.imageDigest) },
      ...extraRoles,
    ],
  });
  track(() => sts.close());
  const s3 = await startLocalS3({
    sts,
    buckets: [{ name: BUCKET, allowedPrincipals: [WEB_IDENTITY_ROLE, BROKER_ROLE, ...extraRoles.map((r) => r.arn)] }],
  });
  track(() => s3.close());
  log(`local AWS STS ${sts.endpoint}, S3 ${s3.endpoint} (bucket ${BUCKET}, region ${sts.region})`);
  return {
    sts,
    s3,
    region: sts.region,
    bucket: BUCKET,
    brokerRoleArn: BROKER_ROLE,
    webIdentityRoleArn: WEB_IDENTITY_ROLE,
    webIdentityAudience: WEB_IDENTITY_AUDIENCE,
    broker: {
      upstreams: {
        aws: {
          region: sts.region,
          endpoint: sts.endpoint,
          credentials: { accessKeyIdEnv: KEY_ID_ENV, secretAccessKeyEnv: SECRET_ENV },
        },
      },
      grant: {
        aws: [
          {
            roleArn: BROKER_ROLE,
            maxDurationSeconds: 900,
            sessionTags: { "container.image_digest": "submods.container.image_digest" },
          },
        ],
      },
      env: { [KEY_ID_ENV]: brokerUser.accessKeyId, [SECRET_ENV]: brokerUser.secretAccessKey },
    },
  } as AwsServices;
}
