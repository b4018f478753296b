import { AwsStsError, type AwsStsOperation } from "../errors.js";

const HINTS: Record<string, string> = {
  AccessDenied:
    "Check the role's trust policy: Principal.Federated must be the IAM OIDC provider of the attestation issuer, " +
    "the ':aud' condition must equal the audience option, request-tag conditions must match this workload's " +
    "principal tags, and Action must include sts:TagSession when tags are sent.",
  InvalidIdentityToken:
    "Check that the AWS account has an IAM OIDC provider for the token's issuer whose client ID list contains the audience option.",
  ExpiredTokenException: "The attestation token had expired when STS checked it; check the machine's clock.",
  IDPRejectedClaim: "STS refused a claim of the attestation token (e.g. its principal tags); check the token type.",
  IDPCommunicationError: "STS could not fetch the issuer's signing keys; this is usually transient.",
  ValidationError:
    "A request parameter is out of range: DurationSeconds above the role's MaxSessionDuration (or below 900), " +
    "or a session name outside [\\w+=,.@-]{2,64}.",
  MalformedPolicyDocument: "The session policy is not a valid IAM policy.",
  RegionDisabledException: "STS is not activated in this region for the account; use another region or activate it.",
};

const RETRYABLE = new Set([
  "IDPCommunicationError",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "ServiceUnavailable",
  "InternalFailure",
  "InternalError",
]);

/** Turns an error of `STSClient.send` into an {@link AwsStsError}, keeping it as `cause`. */
export function toAwsStsError(error: unknown, operation: AwsStsOperation, roleArn: string, where: string): AwsStsError {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  };
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const requestId = typeof e.$metadata?.requestId === "string" ? e.$metadata.requestId : undefined;
  const name = typeof e.Code === "string" ? e.Code : typeof e.name === "string" ? e.name : "Error";
  if (status === undefined) {
    return new AwsStsError(
      `Could not reach AWS STS (${where}) for ${operation} of role ${roleArn} (${name}); check the STS endpoint, region and network.`,
      { cause: error, operation, roleArn, awsCode: name, status, retryable: true },
    );
  }
  const hint = HINTS[name] ?? (status >= 500 || RETRYABLE.has(name) ? "Retry later." : "");
  return new AwsStsError(
    `AWS STS refused ${operation} for role ${roleArn}: ${name} (HTTP ${status}).${hint ? ` ${hint}` : ""}`,
    {
      cause: error,
      operation,
      roleArn,
      awsCode: name,
      status,
      requestId,
      retryable: status >= 500 || RETRYABLE.has(name),
    },
  );
}
