/**
 * AWS STS error replies (query protocol): HTTP status, `Code`, `Message` and whether
 * the caller (`Sender`) or the service (`Receiver`) is at fault. Codes and statuses are
 * AWS's documented ones; messages marked "AWS wording" follow AWS's texts as seen in
 * the field, the others are this server's.
 */
export interface StsError {
  status: number;
  code: string;
  message: string;
  type: "Sender" | "Receiver";
}

const sender = (status: number, code: string, message: string): StsError => ({ status, code, message, type: "Sender" });

export const stsErrors = {
  /** AWS wording. */
  invalidAction: (action: string) =>
    sender(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`),
  /** AWS wording (one constraint per reply). */
  validation: (field: string, value: string | null, constraint: string) =>
    sender(
      400,
      "ValidationError",
      `1 validation error detected: Value ${value === null ? "null" : `'${value}'`} at '${field}' failed to satisfy constraint: ${constraint}`,
    ),
  /** AWS wording. */
  durationAboveMax: () =>
    sender(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
  tooManyTags: () => sender(400, "ValidationError", "Cannot pass more than 50 session tags."),
  duplicateTagKeys: () =>
    sender(400, "InvalidParameterValue", "Duplicate tag keys found. Tag keys are case insensitive."),
  /** AWS wording. */
  missingAuthentication: () => sender(403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
  /** AWS wording. */
  invalidClientTokenId: () =>
    sender(403, "InvalidClientTokenId", "The security token included in the request is invalid."),
  /** AWS wording. */
  signatureDoesNotMatch: () =>
    sender(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    ),
  incompleteSignature: (detail: string) => sender(400, "IncompleteSignature", detail),
  /** AWS wording. */
  expiredCallerToken: () => sender(403, "ExpiredToken", "The security token included in the request is expired"),
  requestExpired: () => sender(400, "RequestExpired", "Request has expired."),
  /** AWS wording. */
  notAuthorized: (principal: string, action: string, resource: string) =>
    sender(403, "AccessDenied", `User: ${principal} is not authorized to perform: ${action} on resource: ${resource}`),
  /** AWS wording. */
  webIdentityDenied: () => sender(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
  /** AWS wording. */
  noOidcProvider: (issuer: string) =>
    sender(400, "InvalidIdentityToken", `No OpenIDConnect provider found in your account for ${issuer}`),
  /** AWS wording. */
  incorrectAudience: () => sender(400, "InvalidIdentityToken", "Incorrect token audience"),
  invalidToken: (detail: string) => sender(400, "InvalidIdentityToken", detail),
  /** AWS wording. */
  tokenExpired: (nowSeconds: number, expSeconds: number) =>
    sender(
      400,
      "ExpiredTokenException",
      `Token expired: current date/time ${nowSeconds} must be before the expiration date/time${expSeconds}`,
    ),
  rejectedClaim: (detail: string) => sender(403, "IDPRejectedClaim", detail),
  /** AWS wording. */
  idpCommunication: () =>
    sender(
      400,
      "IDPCommunicationError",
      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    ),
  malformedPolicy: (detail: string) => sender(400, "MalformedPolicyDocument", detail),
  internal: (): StsError => ({ status: 500, code: "InternalFailure", message: "Internal failure.", type: "Receiver" }),
};
