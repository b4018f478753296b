/**
 * OAuth errors of Google's Security Token Service (RFC 8693 error shape, 400).
 * Texts marked "verbatim" are Google's own as seen in the field; the others follow
 * their style.
 */
export interface StsFailure {
  error: "invalid_request" | "invalid_grant" | "invalid_target" | "unsupported_grant_type" | "unauthorized_client";
  error_description: string;
}

const PROVIDER_NAME_FORMATS = "https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token";

export const stsFailures = {
  unsupportedGrantType: (): StsFailure => ({
    error: "unsupported_grant_type",
    error_description:
      'Invalid value for "grant_type". The only supported grant type is urn:ietf:params:oauth:grant-type:token-exchange.',
  }),
  /** Verbatim. */
  malformedAudience: (): StsFailure => ({
    error: "invalid_request",
    error_description:
      'Invalid value for "audience". This value should be the full resource name of the Identity Provider. ' +
      `See ${PROVIDER_NAME_FORMATS} for the list of possible formats.`,
  }),
  /** Verbatim. */
  unknownProvider: (): StsFailure => ({
    error: "invalid_target",
    error_description:
      'The target service indicated by the "audience" parameters is invalid. This might either be because the pool ' +
      "or provider is disabled or deleted or because it doesn't exist.",
  }),
  /** Verbatim. */
  requestedTokenType: (): StsFailure => ({
    error: "invalid_request",
    error_description: "Invalid value of requested_token_type in request.",
  }),
  subjectTokenType: (): StsFailure => ({
    error: "invalid_request",
    error_description:
      'Invalid value for "subject_token_type". An OIDC provider accepts urn:ietf:params:oauth:token-type:jwt ' +
      "or urn:ietf:params:oauth:token-type:id_token.",
  }),
  /** Verbatim. */
  missingScope: (): StsFailure => ({ error: "invalid_request", error_description: "Scope(s) must be provided." }),
  missingSubjectToken: (): StsFailure => ({
    error: "invalid_request",
    error_description: 'Invalid value for "subject_token". The subject token must not be empty.',
  }),
  unparsableToken: (): StsFailure => ({
    error: "invalid_grant",
    error_description: "Unable to parse the ID Token. It must be a JWS in compact serialization.",
  }),
  algorithm: (alg: string): StsFailure => ({
    error: "invalid_grant",
    error_description: `The signing algorithm [${alg}] of the ID Token is not supported.`,
  }),
  issuer: (iss: string): StsFailure => ({
    error: "invalid_grant",
    error_description: `The issuer in ID Token [${iss}] does not match the expected issuer.`,
  }),
  /** Verbatim (for a token with a single audience). */
  audience: (aud: string): StsFailure => ({
    error: "invalid_grant",
    error_description: `The audience in ID Token [${aud}] does not match the expected audience.`,
  }),
  expired: (exp: number): StsFailure => ({
    error: "invalid_grant",
    error_description: `The ID Token expired at ${exp} and can no longer be used.`,
  }),
  notYetValid: (): StsFailure => ({
    error: "invalid_grant",
    error_description: "The ID Token is not yet valid (nbf is in the future).",
  }),
  missingClaim: (claim: string): StsFailure => ({
    error: "invalid_grant",
    error_description: `The ID Token is missing the required claim [${claim}].`,
  }),
  invalidClaim: (claim: string): StsFailure => ({
    error: "invalid_grant",
    error_description: `The claim [${claim}] of the ID Token is invalid.`,
  }),
  signature: (): StsFailure => ({
    error: "invalid_grant",
    error_description: "The ID Token signature could not be verified with the keys of the issuer.",
  }),
  keysUnavailable: (): StsFailure => ({
    error: "invalid_grant",
    error_description: "Unable to retrieve the public keys (JWKS) of the issuer of the ID Token.",
  }),
} as const;
