import type { AssumeRoleWithWebIdentityCommandOutput } from "@aws-sdk/client-sts";
import type { Clock } from "@confspace/core";
import type { AwsCredentialsReply, UncheckedReply } from "@confspace/ekm-tls";
import { AwsCredentialResponseError } from "../errors.js";
import type { ExpiringAwsIdentity } from "./credential-cache.js";

/** Checks an STS reply holds complete, unexpired credentials. */
export function checkStsCredentials(
  output: AssumeRoleWithWebIdentityCommandOutput,
  roleArn: string,
  clock: Clock,
): ExpiringAwsIdentity {
  const c = output.Credentials;
  const missing =
    c?.AccessKeyId === undefined
      ? "AccessKeyId"
      : c.SecretAccessKey === undefined
        ? "SecretAccessKey"
        : c.SessionToken === undefined
          ? "SessionToken"
          : !(c.Expiration instanceof Date) || Number.isNaN(c.Expiration.getTime())
            ? "Expiration"
            : undefined;
  if (missing !== undefined) {
    throw new AwsCredentialResponseError(
      "sts",
      `AWS STS answered AssumeRoleWithWebIdentity for ${roleArn} without Credentials.${missing}.`,
    );
  }
  return identity(
    {
      accessKeyId: c!.AccessKeyId!,
      secretAccessKey: c!.SecretAccessKey!,
      sessionToken: c!.SessionToken!,
      expiration: c!.Expiration!,
      accountId: accountOf(output.AssumedRoleUser?.Arn) ?? accountOf(roleArn),
    },
    "sts",
    clock,
  );
}

/** Checks an identity has not expired already (not frozen: SDK middleware may annotate it). */
export function identity(value: ExpiringAwsIdentity, source: "sts" | "broker", clock: Clock): ExpiringAwsIdentity {
  if (value.expiration.getTime() <= clock.now()) {
    throw new AwsCredentialResponseError(
      source,
      `The ${source === "sts" ? "AWS STS" : "broker"} credentials had already expired when they arrived; check the clocks.`,
    );
  }
  return value;
}

function accountOf(arn: string | undefined): string | undefined {
  return arn?.split(":")[4] || undefined;
}

/** Checks a broker reply `{access_key_id, secret_access_key, session_token, expiration}`. */
export function checkBrokerCredentials(
  reply: UncheckedReply<AwsCredentialsReply>,
  roleArn: string,
  clock: Clock,
): ExpiringAwsIdentity {
  const text = (field: keyof AwsCredentialsReply): string => {
    const value = reply[field];
    if (typeof value !== "string" || value === "") {
      throw new AwsCredentialResponseError(
        "broker",
        `The broker answered the request for ${roleArn} without ${field}.`,
      );
    }
    return value;
  };
  const accessKeyId = text("access_key_id");
  const secretAccessKey = text("secret_access_key");
  const sessionToken = text("session_token");
  const expiration = new Date(text("expiration"));
  if (Number.isNaN(expiration.getTime())) {
    throw new AwsCredentialResponseError("broker", `The broker's expiration for ${roleArn} is not a date.`);
  }
  return identity(
    { accessKeyId, secretAccessKey, sessionToken, expiration, accountId: accountOf(roleArn) },
    "broker",
    clock,
  );
}
