import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { type StsError, stsErrors } from "./sts-errors.js";

/** An IAM OIDC identity provider, ready to verify tokens. */
export interface OidcProvider {
  /** The issuer URL tokens must carry as `iss`. */
  url: string;
  /** The URL without its scheme: the IAM provider name, used in its ARN and condition keys. */
  name: string;
  arn: string;
  clientIds: ReadonlySet<string>;
  keys: () => Promise<JWTVerifyGetKey>;
}

/** A web identity token that passed every check. */
export interface VerifiedWebIdentity {
  provider: OidcProvider;
  subject: string;
  audiences: string[];
  /** Session tags from `https://aws.amazon.com/tags` → `principal_tags`, in claim order. */
  tags: Array<{ key: string; value: string }>;
  transitiveTagKeys: string[];
}

/** IAM accepts OIDC tokens up to five minutes past `exp` (clock skew). */
const EXP_LEEWAY_SECONDS = 300;
const TAGS_CLAIM = "https://aws.amazon.com/tags";
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * Verifies a `WebIdentityToken` as STS does for OIDC providers: the provider is found
 * by `iss`, the signature checked against its JWKS (RS256/ES256), `exp` honoured with
 * IAM's five-minute leeway, `aud` one of the provider's client IDs; then the AWS session
 * tags claim is read.
 */
export async function verifyWebIdentityToken(
  token: string,
  providers: ReadonlyMap<string, OidcProvider>,
  nowMs: number,
): Promise<VerifiedWebIdentity | StsError> {
  let unverified: JWTPayload;
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
    unverified = decodeJwt(token);
  } catch {
    return stsErrors.invalidToken("The web identity token that was passed could not be parsed.");
  }
  const provider = typeof unverified.iss === "string" ? providers.get(unverified.iss) : undefined;
  if (provider === undefined) return stsErrors.noOidcProvider(String(unverified.iss));
  if (alg !== "RS256" && alg !== "ES256") {
    return stsErrors.invalidToken(`The web identity token's signing algorithm ${String(alg)} is not supported.`);
  }
  let keys: JWTVerifyGetKey;
  try {
    keys = await provider.keys();
  } catch {
    return stsErrors.idpCommunication();
  }
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, keys, {
      algorithms: ["RS256", "ES256"],
      issuer: provider.url,
      requiredClaims: ["exp"],
      currentDate: new Date(nowMs),
      clockTolerance: EXP_LEEWAY_SECONDS,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      return stsErrors.tokenExpired(Math.floor(nowMs / 1000), Number(unverified.exp));
    }
    if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
      return stsErrors.idpCommunication();
    }
    return stsErrors.invalidToken("The web identity token that was passed could not be validated by AWS.");
  }
  const audiences = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.some((aud) => provider.clientIds.has(aud))) return stsErrors.incorrectAudience();
  if (typeof claims.sub !== "string" || claims.sub === "") return stsErrors.invalidToken("The token has no sub claim.");
  const tags = readTags(claims[TAGS_CLAIM]);
  if ("code" in tags) return tags;
  return { provider, subject: claims.sub, audiences, ...tags };
}

function readTags(claim: unknown): Pick<VerifiedWebIdentity, "tags" | "transitiveTagKeys"> | StsError {
  if (claim === undefined) return { tags: [], transitiveTagKeys: [] };
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) {
    return stsErrors.rejectedClaim(`The ${TAGS_CLAIM} claim must be an object.`);
  }
  const { principal_tags: principal, transitive_tag_keys: transitive } = claim as Record<string, unknown>;
  const tags: VerifiedWebIdentity["tags"] = [];
  if (principal !== undefined) {
    if (typeof principal !== "object" || principal === null || Array.isArray(principal)) {
      return stsErrors.rejectedClaim("principal_tags must be an object of one-element string arrays.");
    }
    for (const [key, value] of Object.entries(principal)) {
      // AWS: each principal tag value is an array holding exactly one string.
      const text = Array.isArray(value) && value.length === 1 && typeof value[0] === "string" ? value[0] : undefined;
      if (text === undefined)
        return stsErrors.rejectedClaim(`principal_tags.${key} must be a one-element string array.`);
      if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key) || key.toLowerCase().startsWith("aws:")) {
        return stsErrors.rejectedClaim(`principal_tags key ${key} is not a valid session tag key.`);
      }
      if (text.length > 256 || !TAG_CHARS.test(text)) {
        return stsErrors.rejectedClaim(`principal_tags.${key} is not a valid session tag value.`);
      }
      tags.push({ key, value: text });
    }
  }
  let transitiveTagKeys: string[] = [];
  if (transitive !== undefined) {
    if (!Array.isArray(transitive) || !transitive.every((k) => typeof k === "string")) {
      return stsErrors.rejectedClaim("transitive_tag_keys must be an array of strings.");
    }
    transitiveTagKeys = transitive;
  }
  return { tags, transitiveTagKeys };
}
