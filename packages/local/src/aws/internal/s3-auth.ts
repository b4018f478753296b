import { createHash } from "node:crypto";
import { type S3Error, s3Errors } from "./s3-errors.js";
import { parseAmzDate, parseAuthorization, type SignedRequest, signatureMatches } from "./sigv4.js";
import type { IssuedSession } from "./sts-actions.js";

/** Who signed an S3 request. */
export interface S3Principal {
  accessKeyId: string;
  /** User ARN, or the assumed-role ARN of a session. */
  arn: string;
  /** The role of a session; `undefined` for a user. */
  roleArn: string | undefined;
  tags: Record<string, string>;
}

/** Where S3 looks up keys. */
export interface S3Keys {
  region: string;
  users: ReadonlyMap<string, { arn: string; secretAccessKey: string }>;
  sessions: ReadonlyMap<string, IssuedSession> | undefined;
  now: number;
}

const MAX_SKEW_MS = 15 * 60_000;
const PAYLOAD_MODES = new Set(["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]);

/**
 * Authenticates a SigV4 S3 request (header form; presigned URLs are not supported) in
 * the order S3 reports failures: header shape, key, session token, expiry, clock skew,
 * scope, signature, then the payload hash against the body.
 */
export async function authenticateS3(request: SignedRequest, keys: S3Keys): Promise<S3Principal | S3Error> {
  const auth = parseAuthorization(header(request, "authorization"));
  if ("reason" in auth) {
    return auth.reason === "missing" ? s3Errors.accessDenied() : s3Errors.authorizationMalformed(auth.detail);
  }
  const contentSha256 = header(request, "x-amz-content-sha256");
  if (contentSha256 === undefined) return s3Errors.missingContentSha256();
  const user = keys.users.get(auth.accessKeyId);
  const session = user === undefined ? keys.sessions?.get(auth.accessKeyId) : undefined;
  if (user === undefined && session === undefined) return s3Errors.invalidAccessKeyId();
  if (session !== undefined) {
    const token = header(request, "x-amz-security-token");
    if (token === undefined) return s3Errors.invalidAccessKeyId();
    if (token !== session.sessionToken) return s3Errors.invalidToken();
    if (keys.now >= session.expiresAt) return s3Errors.expiredToken();
  }
  const signedAt = parseAmzDate(header(request, "x-amz-date"));
  if (signedAt === undefined) return s3Errors.accessDenied();
  if (Math.abs(keys.now - signedAt) > MAX_SKEW_MS) return s3Errors.requestTimeTooSkewed();
  if (auth.region !== keys.region) {
    return s3Errors.authorizationMalformed(`the region '${auth.region}' is wrong; expecting '${keys.region}'`);
  }
  if (auth.service !== "s3")
    return s3Errors.authorizationMalformed(`incorrect service '${auth.service}'; expecting 's3'`);
  if (auth.scopeDate !== header(request, "x-amz-date")!.slice(0, 8)) {
    return s3Errors.authorizationMalformed("the date in the credential scope does not match x-amz-date");
  }
  const secret = user?.secretAccessKey ?? session!.secretAccessKey;
  if (!(await signatureMatches(request, auth, secret, signedAt))) return s3Errors.signatureDoesNotMatch();
  if (!PAYLOAD_MODES.has(contentSha256)) {
    if (!/^[0-9a-f]{64}$/.test(contentSha256)) return s3Errors.notImplemented();
    if (createHash("sha256").update(request.body).digest("hex") !== contentSha256)
      return s3Errors.contentSha256Mismatch();
  }
  return user !== undefined
    ? { accessKeyId: auth.accessKeyId, arn: user.arn, roleArn: undefined, tags: {} }
    : { accessKeyId: auth.accessKeyId, arn: session!.assumedRoleArn, roleArn: session!.roleArn, tags: session!.tags };
}

function header(request: SignedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}
