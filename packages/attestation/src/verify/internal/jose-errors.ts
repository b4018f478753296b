import { AttestationPolicyError, type PolicyCheck, reject } from "../errors.js";

/** What jose's claim-set errors carry besides the message (they also hold the whole payload). */
interface JoseClaimError {
  code: string;
  claim?: unknown;
  reason?: unknown;
}

const BY_CODE: Readonly<Record<string, [PolicyCheck, string]>> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: ["signature", "the token's signature does not verify"],
  ERR_JOSE_ALG_NOT_ALLOWED: ["algorithm", "the token is not signed with RS256"],
  ERR_JOSE_NOT_SUPPORTED: ["header", "the token uses an unsupported JOSE feature"],
  ERR_JWS_INVALID: ["format", "the token is not a valid compact JWS"],
  ERR_JWT_INVALID: ["format", "the token's payload is not a JSON object"],
  ERR_JWKS_NO_MATCHING_KEY: ["unknown_key", "no RS256 key of the issuer's JWKS matches the token's kid"],
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: ["unknown_key", "several keys of the issuer's JWKS match the token's kid"],
};

/**
 * Turns an error thrown by jose while resolving a key or verifying a token into an
 * {@link AttestationPolicyError}. Claim-set errors are not kept as `cause`: jose attaches
 * the whole payload to them, and claims such as `submods.container.env` may hold secrets.
 */
export function mapJoseError(error: unknown): AttestationPolicyError {
  if (error instanceof AttestationPolicyError) return error;
  const { code, claim, reason } = (typeof error === "object" && error !== null ? error : {}) as JoseClaimError;
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" || code === "ERR_JWT_EXPIRED") {
    const name = typeof claim === "string" ? claim : undefined;
    if (reason === "missing") return reject("missing_claim", `the token has no "${name}" claim`, name);
    if (reason === "invalid") return reject("claim_type", `the token's "${name}" claim has the wrong type`, name);
    const expired = code === "ERR_JWT_EXPIRED";
    switch (name) {
      case "iss":
        return reject("issuer", "the token's issuer is not the configured issuer", name);
      case "aud":
        return reject("audience", "the token's audience is not the configured audience", name);
      case "exp":
        return reject("expired", "the token has expired", name);
      case "nbf":
        return reject("not_yet_valid", "the token is not valid yet (nbf)", name);
      case "iat":
        return expired
          ? reject("too_old", "the token was issued longer ago than maxTokenAgeMs", name)
          : reject("issued_in_future", "the token's iat is in the future", name);
      default:
        return reject("claim_type", `the token's "${name}" claim is not acceptable`, name);
    }
  }
  const known = typeof code === "string" ? BY_CODE[code] : undefined;
  if (known !== undefined) return reject(known[0], known[1], undefined, error);
  // Key import problems (e.g. an RSA key under 2048 bits) and anything unexpected.
  return reject("signature", "the token's signature could not be verified", undefined, error);
}
