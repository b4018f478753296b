import { parseAmzDate, parseAuthorization, type SignedRequest, signatureMatches } from "./sigv4.js";
import type { Caller, IssuedSession } from "./sts-actions.js";
import { type StsError, stsErrors } from "./sts-errors.js";

/** A long-term IAM user key known to the local STS. */
export interface User {
  arn: string;
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Where callers' keys are looked up. */
export interface CallerKeys {
  region: string;
  users: ReadonlyMap<string, User>;
  sessions: ReadonlyMap<string, IssuedSession>;
  now: number;
}

/** AWS rejects signatures dated more than 15 minutes from its clock. */
const MAX_SKEW_MS = 15 * 60_000;

/**
 * Authenticates a signed STS request (SigV4, service `sts`, this server's region) made
 * with a user's long-term key or a session this server issued (with its
 * `x-amz-security-token`), in the order AWS reports failures.
 */
export async function authenticateCaller(request: SignedRequest, keys: CallerKeys): Promise<Caller | StsError> {
  const auth = parseAuthorization(headerValue(request, "authorization"));
  if ("reason" in auth) {
    return auth.reason === "missing" ? stsErrors.missingAuthentication() : stsErrors.incompleteSignature(auth.detail);
  }
  const signedAt = parseAmzDate(headerValue(request, "x-amz-date"));
  if (signedAt === undefined) {
    return stsErrors.incompleteSignature(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  if (!auth.signedHeaders.includes("host") || !auth.signedHeaders.includes("x-amz-date")) {
    return stsErrors.incompleteSignature("The host and x-amz-date headers must be signed.");
  }
  const user = keys.users.get(auth.accessKeyId);
  const session = user === undefined ? keys.sessions.get(auth.accessKeyId) : undefined;
  if (user === undefined && session === undefined) return stsErrors.invalidClientTokenId();
  if (session !== undefined && headerValue(request, "x-amz-security-token") !== session.sessionToken) {
    return stsErrors.invalidClientTokenId();
  }
  if (session !== undefined && keys.now >= session.expiresAt) return stsErrors.expiredCallerToken();
  if (Math.abs(keys.now - signedAt) > MAX_SKEW_MS) {
    return {
      ...stsErrors.signatureDoesNotMatch(),
      message: "Signature expired: the request time is too far from the server time.",
    };
  }
  const mismatch = stsErrors.signatureDoesNotMatch();
  if (auth.service !== "sts") return { ...mismatch, message: "Credential should be scoped to correct service: 'sts'." };
  if (auth.region !== keys.region) return { ...mismatch, message: "Credential should be scoped to a valid region." };
  if (auth.scopeDate !== headerValue(request, "x-amz-date")?.slice(0, 8)) {
    return {
      ...mismatch,
      message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.",
    };
  }
  const secret = user?.secretAccessKey ?? session!.secretAccessKey;
  if (!(await signatureMatches(request, auth, secret, signedAt))) return mismatch;

  if (user !== undefined) {
    return {
      arn: user.arn,
      accountId: user.accountId,
      principals: [user.arn, `arn:aws:iam::${user.accountId}:root`, user.accountId],
      tags: {},
    };
  }
  const accountId = session!.roleArn.split(":")[4]!;
  return {
    arn: session!.assumedRoleArn,
    accountId,
    principals: [session!.assumedRoleArn, session!.roleArn, `arn:aws:iam::${accountId}:root`, accountId],
    tags: session!.tags,
  };
}

function headerValue(request: SignedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}
