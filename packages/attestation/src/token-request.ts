import { DEFAULT_TOKEN_AUDIENCE, TOKEN_TYPES, type TokenType } from "./claims.js";
import { InvalidTokenRequestError } from "./errors.js";

/** What to ask the launcher for with `POST /v1/token`. */
export interface TokenRequest {
  /** The token's `aud`. Required; at most 512 UTF-8 bytes; never `https://sts.googleapis.com` (that is the default token). */
  audience: string;
  /** Up to 6 nonces of 10–74 UTF-8 bytes each, copied into `eat_nonce`. Default: none. A token with nonces is never cached. */
  nonces?: readonly string[];
  /** Token format. Default `"OIDC"`. */
  tokenType?: TokenType;
  /**
   * Image-signature key IDs whose signatures become the `container.signatures.key_ids`
   * AWS principal tag. Only with `tokenType` `AWS_PRINCIPALTAGS`: the launcher forwards
   * them for no other type (with `LIMITED_AWS` they would silently vanish), so they are
   * refused with any other. Default: none.
   */
  awsPrincipalTagKeyIds?: readonly string[];
}

/** A {@link TokenRequest} that passed {@link validateTokenRequest}, with defaults applied. */
export interface ValidTokenRequest {
  /** The token's `aud`, checked. */
  audience: string;
  /** The nonces, checked; empty when none were given. */
  nonces: readonly string[];
  /** The token type; `"OIDC"` when none was given. */
  tokenType: TokenType;
  /** The key IDs, checked; empty when none were given. */
  awsPrincipalTagKeyIds: readonly string[];
}

/**
 * Limits the Confidential Space service enforces on custom tokens. Google's docs
 * disagree on nonce lengths (10–74 vs 8–88 bytes); 10–74 and at most 6 satisfy both.
 */
export const TOKEN_REQUEST_LIMITS = Object.freeze({
  maxAudienceBytes: 512,
  maxNonces: 6,
  minNonceBytes: 10,
  maxNonceBytes: 74,
});

/**
 * The only token type whose `aws_principal_tag_options` the launcher forwards
 * (go-tpm-tools verifier/rest: `LIMITED_AWS` and the others drop them).
 */
const KEY_ID_TOKEN_TYPE: TokenType = "AWS_PRINCIPALTAGS";

/**
 * Checks a custom-token request against the service's limits before anything is sent,
 * so mistakes surface at the call site. Throws {@link InvalidTokenRequestError} naming
 * the field at fault; returns the request with defaults applied.
 */
export function validateTokenRequest(request: TokenRequest): ValidTokenRequest {
  const { audience } = request;
  if (typeof audience !== "string" || audience.length === 0) {
    throw new InvalidTokenRequestError(
      "audience",
      `audience is required for a custom token (got ${describe(audience)}); for the default token use defaultTokenSource() or LauncherClient.defaultToken()`,
    );
  }
  const audienceBytes = Buffer.byteLength(audience, "utf8");
  if (audienceBytes > TOKEN_REQUEST_LIMITS.maxAudienceBytes) {
    throw new InvalidTokenRequestError(
      "audience",
      `audience is ${audienceBytes} bytes; the launcher accepts at most ${TOKEN_REQUEST_LIMITS.maxAudienceBytes} (UTF-8)`,
    );
  }
  if (audience === DEFAULT_TOKEN_AUDIENCE) {
    throw new InvalidTokenRequestError(
      "audience",
      `audience ${DEFAULT_TOKEN_AUDIENCE} is reserved for the default token; use defaultTokenSource() or LauncherClient.defaultToken(), or choose another audience`,
    );
  }

  const tokenType = request.tokenType ?? "OIDC";
  if (!TOKEN_TYPES.includes(tokenType)) {
    throw new InvalidTokenRequestError(
      "tokenType",
      `tokenType ${describe(tokenType)} is not one of ${TOKEN_TYPES.join(", ")}`,
    );
  }

  const nonces = stringList("nonces", request.nonces);
  if (nonces.length > TOKEN_REQUEST_LIMITS.maxNonces) {
    throw new InvalidTokenRequestError(
      "nonces",
      `nonces has ${nonces.length} entries; the launcher accepts at most ${TOKEN_REQUEST_LIMITS.maxNonces}`,
    );
  }
  nonces.forEach((nonce, index) => {
    const bytes = Buffer.byteLength(nonce, "utf8");
    if (bytes < TOKEN_REQUEST_LIMITS.minNonceBytes || bytes > TOKEN_REQUEST_LIMITS.maxNonceBytes) {
      throw new InvalidTokenRequestError(
        `nonces[${index}]`,
        `nonces[${index}] is ${bytes} bytes; each nonce must be ${TOKEN_REQUEST_LIMITS.minNonceBytes}–${TOKEN_REQUEST_LIMITS.maxNonceBytes} bytes (UTF-8)`,
      );
    }
  });

  const awsPrincipalTagKeyIds = stringList("awsPrincipalTagKeyIds", request.awsPrincipalTagKeyIds);
  awsPrincipalTagKeyIds.forEach((keyId, index) => {
    if (keyId.length === 0) {
      throw new InvalidTokenRequestError(
        `awsPrincipalTagKeyIds[${index}]`,
        `awsPrincipalTagKeyIds[${index}] is empty; give image-signature key IDs`,
      );
    }
  });
  if (awsPrincipalTagKeyIds.length > 0 && tokenType !== KEY_ID_TOKEN_TYPE) {
    const vanish = tokenType === "LIMITED_AWS" ? "; the launcher drops them for LIMITED_AWS tokens" : "";
    throw new InvalidTokenRequestError(
      "awsPrincipalTagKeyIds",
      `awsPrincipalTagKeyIds is only allowed with tokenType ${KEY_ID_TOKEN_TYPE} (got ${tokenType})${vanish}`,
    );
  }
  return { audience, nonces, tokenType, awsPrincipalTagKeyIds };
}

/** The JSON body of `POST /v1/token`; fields that are unset are omitted (the launcher rejects unknown fields). */
export function tokenRequestBody(request: ValidTokenRequest): string {
  const body: Record<string, unknown> = { audience: request.audience };
  if (request.nonces.length > 0) body.nonces = request.nonces;
  body.token_type = request.tokenType;
  if (request.awsPrincipalTagKeyIds.length > 0) {
    body.aws_principal_tag_options = {
      allowed_principal_tags: { container_image_signatures: { key_ids: request.awsPrincipalTagKeyIds } },
    };
  }
  return JSON.stringify(body);
}

function stringList(field: string, value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new InvalidTokenRequestError(field, `${field} must be an array of strings (got ${describe(value)})`);
  }
  value.forEach((item, index) => {
    if (typeof item !== "string") {
      throw new InvalidTokenRequestError(
        `${field}[${index}]`,
        `${field}[${index}] must be a string (got ${describe(item)})`,
      );
    }
  });
  return Object.freeze([...value]);
}

/** A short, safe description of a rejected input: its type, or a capped quote of a short string. */
function describe(value: unknown): string {
  if (typeof value === "string")
    return value.length <= 40 ? JSON.stringify(value) : `a ${value.length}-character string`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
