import { AwsCredentialOptionError } from "../errors.js";

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/**
 * The broker names a session `{project number}-{instance id}.{suffix}` in AWS's 64 characters:
 * with a 12-digit project number and a 19-digit instance id, 31 are left for the suffix.
 */
export const BROKER_SESSION_SUFFIX_MAX = 31;
const BROKER_SESSION_NAME = new RegExp(`^[\\w+=,.@-]{1,${BROKER_SESSION_SUFFIX_MAX}}$`);

/** @throws {AwsCredentialOptionError} */
export function checkRoleArn(value: unknown): string {
  if (typeof value !== "string" || !ROLE_ARN.test(value)) {
    throw new AwsCredentialOptionError("roleArn", "roleArn must be a role ARN: arn:aws:iam::ACCOUNT:role/NAME.");
  }
  return value;
}

/** @throws {AwsCredentialOptionError} */
export function checkSessionName(value: unknown): string {
  if (typeof value !== "string" || !SESSION_NAME.test(value)) {
    throw new AwsCredentialOptionError(
      "sessionName",
      "sessionName must be 2–64 characters of letters, digits and +=,.@_-.",
    );
  }
  return value;
}

/**
 * The suffix the broker appends to the verified `{project number}-{instance id}` after a `.`.
 *
 * @throws {AwsCredentialOptionError}
 */
export function checkBrokerSessionName(value: unknown): string {
  if (typeof value !== "string" || !BROKER_SESSION_NAME.test(value)) {
    throw new AwsCredentialOptionError(
      "sessionName",
      `sessionName must be 1–${BROKER_SESSION_SUFFIX_MAX} characters of letters, digits and +=,.@_- (the broker appends it to {project number}-{instance id}. within AWS's 64).`,
    );
  }
  return value;
}

/**
 * A positive whole number of seconds up to 43 200. AWS's minimum (900) is not enforced
 * here, so a local STS configured for shorter sessions can be used in tests.
 *
 * @throws {AwsCredentialOptionError}
 */
export function checkDuration(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 43_200) {
    throw new AwsCredentialOptionError(
      "durationSeconds",
      "durationSeconds must be a whole number of seconds, 900–43200 on AWS.",
    );
  }
  return value;
}

/**
 * 900–43 200 seconds, what the broker (like AWS) accepts.
 *
 * @throws {AwsCredentialOptionError}
 */
export function checkBrokerDuration(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 900 || value > 43_200) {
    throw new AwsCredentialOptionError(
      "durationSeconds",
      "durationSeconds must be a whole number of seconds, 900–43200.",
    );
  }
  return value;
}
