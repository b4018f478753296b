// The AWS `credential_process` output: what `confspace-bootstrap aws-credential-process`
// prints, for `~/.aws/config` (botocore, the AWS CLI, every AWS SDK).
import { type BrokerOptions, fromBroker, fromWebIdentity, type WebIdentityOptions } from "@confspace/aws-credential";
import { BootstrapConfigError } from "./errors.js";

/**
 * The JSON a credential process prints, as the AWS SDKs document it: `Version` 1, the
 * session's keys, and `Expiration` (ISO 8601) so the SDK calls the process again before then.
 */
export interface AwsCredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  Expiration: string;
}

/** The parts of an AWS SDK identity the output needs. */
export interface AwsSessionIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Options of {@link awsCredentialProcess}: the broker path, or web identity when `webIdentity` is given. */
export type AwsCredentialProcessOptions =
  | ({ via: "broker" } & BrokerOptions)
  | ({ via: "web-identity" } & WebIdentityOptions);

/** Formats an identity as credential_process output. Credentials without an expiration are refused (the SDK would cache them forever). */
export function toCredentialProcessOutput(identity: AwsSessionIdentity): AwsCredentialProcessOutput {
  if (!(identity.expiration instanceof Date)) {
    throw new BootstrapConfigError(
      "aws-credential-process",
      "the credentials have no expiration; refusing to hand them out",
    );
  }
  return {
    Version: 1,
    AccessKeyId: identity.accessKeyId,
    SecretAccessKey: identity.secretAccessKey,
    ...(identity.sessionToken !== undefined && { SessionToken: identity.sessionToken }),
    Expiration: identity.expiration.toISOString(),
  };
}

/** Gets one fresh session (through the broker or AssumeRoleWithWebIdentity) and formats it. */
export async function awsCredentialProcess(options: AwsCredentialProcessOptions): Promise<AwsCredentialProcessOutput> {
  const { via, ...rest } = options;
  const provider = via === "broker" ? fromBroker(rest as BrokerOptions) : fromWebIdentity(rest as WebIdentityOptions);
  try {
    return toCredentialProcessOutput(await provider());
  } finally {
    provider.dispose();
  }
}
