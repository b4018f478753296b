/**
 * Amazon S3 REST error replies: status, `Code`, `Message`. Codes and statuses are
 * AWS's documented ones; messages follow S3's texts.
 */
export interface S3Error {
  status: number;
  code: string;
  message: string;
}

const e = (status: number, code: string, message: string): S3Error => ({ status, code, message });

export const s3Errors = {
  accessDenied: () => e(403, "AccessDenied", "Access Denied"),
  authorizationMalformed: (detail: string) =>
    e(400, "AuthorizationHeaderMalformed", `The authorization header is malformed; ${detail}`),
  invalidAccessKeyId: () =>
    e(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
  invalidToken: () => e(400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
  expiredToken: () => e(400, "ExpiredToken", "The provided token has expired."),
  requestTimeTooSkewed: () =>
    e(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
  signatureDoesNotMatch: () =>
    e(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    ),
  missingContentSha256: () =>
    e(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"),
  contentSha256Mismatch: () =>
    e(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."),
  badDigest: () => e(400, "BadDigest", "The CRC32 you specified did not match the calculated checksum."),
  incompleteBody: () => e(400, "IncompleteBody", "The request body terminated unexpectedly"),
  noSuchBucket: () => e(404, "NoSuchBucket", "The specified bucket does not exist"),
  noSuchKey: () => e(404, "NoSuchKey", "The specified key does not exist."),
  notImplemented: () => e(501, "NotImplemented", "A header you provided implies functionality that is not implemented"),
  methodNotAllowed: () => e(405, "MethodNotAllowed", "The specified method is not allowed against this resource."),
  entityTooLarge: () => e(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
};
