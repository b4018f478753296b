import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { type StsFailure, stsFailures } from "./sts-errors.js";
import type { WifProvider } from "./wif-provider.js";

/** A subject token that passed every check, with its claims (for attribute mapping). */
export interface VerifiedSubjectToken {
  subject: string;
  claims: JWTPayload;
}

/**
 * Verifies an OIDC subject token for `provider` as STS does: a JWS, RS256, `iss`
 * equal to the provider's issuer, a signature by one of the issuer's keys, `exp` in
 * the future, `aud` one of the accepted audiences, and a `sub`.
 */
export async function verifySubjectToken(
  provider: WifProvider,
  token: string,
  now: number,
): Promise<VerifiedSubjectToken | StsFailure> {
  let alg: unknown;
  let unverified: JWTPayload;
  try {
    alg = decodeProtectedHeader(token).alg;
    unverified = decodeJwt(token);
  } catch {
    return stsFailures.unparsableToken();
  }
  if (alg !== "RS256") return stsFailures.algorithm(String(alg));
  // Google's own instructions configure `https://confidentialcomputing.googleapis.com/` as
  // the issuer URI while tokens carry no trailing slash, and STS accepts them: compare
  // without trailing slashes.
  if (
    typeof unverified.iss !== "string" ||
    withoutTrailingSlash(unverified.iss) !== withoutTrailingSlash(provider.issuer)
  ) {
    return stsFailures.issuer(String(unverified.iss));
  }

  let keys: JWTVerifyGetKey;
  try {
    keys = await provider.keys();
  } catch {
    return stsFailures.keysUnavailable();
  }
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, keys, {
      algorithms: ["RS256"],
      requiredClaims: ["exp"],
      currentDate: new Date(now),
    }));
  } catch (error) {
    return describeFailure(error, unverified);
  }

  const audiences = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.some((aud) => provider.acceptedAudiences.has(aud))) return stsFailures.audience(audiences.join(", "));
  if (typeof claims.sub !== "string" || claims.sub === "") return stsFailures.missingClaim("sub");
  return { subject: claims.sub, claims };
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function describeFailure(error: unknown, unverified: JWTPayload): StsFailure {
  if (error instanceof errors.JWTExpired) return stsFailures.expired(Number(unverified.exp));
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return stsFailures.missingClaim(error.claim);
    if (error.claim === "nbf") return stsFailures.notYetValid();
    return stsFailures.invalidClaim(error.claim);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return stsFailures.signature();
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return stsFailures.unparsableToken();
  return stsFailures.keysUnavailable();
}
