import { ConfspaceError } from "@confspace/core";

/** `POST /v1/token` asking for an Azure access token. */
export interface AzureTokenRequest {
  provider: "azure";
  /** The EKM-bound attestation token. */
  attestationToken: string;
  /** One scope, `{resource}/.default`. */
  scope: string;
}

/** `POST /v1/token` asking for AWS role credentials. */
export interface AwsTokenRequest {
  provider: "aws";
  /** The EKM-bound attestation token. */
  attestationToken: string;
  /** ARN of the role to assume. */
  roleArn: string;
  /**
   * Suffix of the `RoleSessionName`, appended to the verified `{project number}-{instance id}`
   * after a `.`. Default: none (the session is named after the instance alone).
   */
  sessionName?: string;
  /** Requested session length, seconds, 900–43 200; clamped to the grant's maximum. Default: the grant's maximum. */
  durationSeconds?: number;
}

/** A parsed, well-formed `POST /v1/token` body. */
export type TokenRequest = AzureTokenRequest | AwsTokenRequest;

/**
 * The request body is malformed: not a JSON object, an unknown field, a missing or
 * mistyped one. Code `ERR_INVALID_REQUEST`; the broker answers `400 invalid_request`
 * with this message. The message names fields, never their values. (Not the attestation
 * package's `InvalidTokenRequestError`, which refuses a launcher token request's options.)
 */
export class InvalidBrokerRequestError extends ConfspaceError {
  declare readonly code: "ERR_INVALID_REQUEST";

  constructor(message: string) {
    super("ERR_INVALID_REQUEST", message);
  }
}

const FIELDS = {
  azure: ["attestation_token", "provider", "scope"],
  aws: ["attestation_token", "provider", "role_arn", "session_name", "duration_seconds"],
} as const;

/** The workload's part of a `RoleSessionName`: `[\w+=,.@-]`, 1 to 64 characters (the total must fit in 64). */
export const SESSION_NAME = /^[\w+=,.@-]{1,64}$/;
/** Longest attestation token read, bytes (the verifier has its own, smaller, limit). */
const MAX_TOKEN_LENGTH = 65_536;

/**
 * Parses a `POST /v1/token` body (protocol v1):
 * `{"attestation_token","provider":"azure","scope"}` or
 * `{"attestation_token","provider":"aws","role_arn","session_name"?,"duration_seconds"?}`.
 * Unknown fields and wrong types are refused.
 *
 * @throws {InvalidBrokerRequestError} the body is not a valid request.
 */
export function parseTokenRequest(body: Buffer | string): TokenRequest {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch {
    throw new InvalidBrokerRequestError("the body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidBrokerRequestError("the body must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  const provider = o.provider;
  if (provider !== "azure" && provider !== "aws") {
    throw new InvalidBrokerRequestError('"provider" must be "azure" or "aws"');
  }
  for (const key of Object.keys(o)) {
    if (!(FIELDS[provider] as readonly string[]).includes(key)) {
      throw new InvalidBrokerRequestError(`unknown field ${JSON.stringify(key.slice(0, 64))} for provider ${provider}`);
    }
  }
  const attestationToken = requiredString(o, "attestation_token", MAX_TOKEN_LENGTH);
  if (provider === "azure") {
    const scope = requiredString(o, "scope", 1024);
    if (/\s/.test(scope)) throw new InvalidBrokerRequestError('"scope" must be a single scope');
    return { provider, attestationToken, scope };
  }
  const request: AwsTokenRequest = { provider, attestationToken, roleArn: requiredString(o, "role_arn", 2048) };
  if (o.session_name !== undefined) {
    const name = requiredString(o, "session_name", 64);
    if (!SESSION_NAME.test(name)) {
      throw new InvalidBrokerRequestError(
        '"session_name" must be letters, digits and +=,.@_- (at most 64 with the verified name)',
      );
    }
    request.sessionName = name;
  }
  if (o.duration_seconds !== undefined) {
    const duration = o.duration_seconds;
    if (typeof duration !== "number" || !Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw new InvalidBrokerRequestError('"duration_seconds" must be an integer from 900 to 43200');
    }
    request.durationSeconds = duration;
  }
  return request;
}

function requiredString(o: Record<string, unknown>, field: string, maxLength: number): string {
  const value = o[field];
  if (value === undefined) throw new InvalidBrokerRequestError(`"${field}" is required`);
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidBrokerRequestError(`"${field}" must be a non-empty string`);
  }
  if (value.length > maxLength)
    throw new InvalidBrokerRequestError(`"${field}" is longer than ${maxLength} characters`);
  return value;
}
