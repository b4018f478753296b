import { randomBytes } from "node:crypto";
import type { IssuedFederatedToken } from "../sts.js";
import { type StsFailure, stsFailures } from "./sts-errors.js";
import { verifySubjectToken } from "./subject-token.js";
import { applyAttributeRules } from "./wif-attributes.js";
import { isProviderResourceName, type WifProvider } from "./wif-provider.js";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
/** Subject token types an OIDC provider accepts. */
const OIDC_SUBJECT_TOKEN_TYPES = new Set([
  "urn:ietf:params:oauth:token-type:jwt",
  "urn:ietf:params:oauth:token-type:id_token",
]);

/** Success body of `POST /v1/token` for a federated access token. */
export interface StsTokenResponse {
  access_token: string;
  issued_token_type: typeof ACCESS_TOKEN_TYPE;
  token_type: "Bearer";
  expires_in: number;
}

export interface ExchangeContext {
  providers: ReadonlyMap<string, WifProvider>;
  tokenLifetimeSeconds: number;
  now: number;
}

/**
 * Runs an RFC 8693 token exchange as Google STS does for an OIDC provider. Checks
 * in order: grant type, audience (shape, then a configured provider), requested token
 * type, subject token type, scope, subject token, then the provider's attribute
 * mapping and attribute condition (CEL).
 */
export async function exchangeToken(
  form: URLSearchParams,
  context: ExchangeContext,
): Promise<{ response: StsTokenResponse; issued: IssuedFederatedToken } | StsFailure> {
  if (form.get("grant_type") !== TOKEN_EXCHANGE_GRANT) return stsFailures.unsupportedGrantType();
  const audience = form.get("audience") ?? "";
  if (!isProviderResourceName(audience)) return stsFailures.malformedAudience();
  const provider = context.providers.get(audience);
  if (!provider) return stsFailures.unknownProvider();
  if (form.get("requested_token_type") !== ACCESS_TOKEN_TYPE) return stsFailures.requestedTokenType();
  if (!OIDC_SUBJECT_TOKEN_TYPES.has(form.get("subject_token_type") ?? "")) return stsFailures.subjectTokenType();
  const scopes = (form.get("scope") ?? "").split(" ").filter((scope) => scope !== "");
  if (scopes.length === 0) return stsFailures.missingScope();
  const subjectToken = form.get("subject_token");
  if (!subjectToken) return stsFailures.missingSubjectToken();

  const verified = await verifySubjectToken(provider, subjectToken, context.now);
  if ("error" in verified) return verified;
  const mapped = applyAttributeRules(provider.rules, verified.claims as Record<string, unknown>);
  if ("error" in mapped) return mapped;

  const accessToken = `ya29.local-${randomBytes(32).toString("base64url")}`;
  return {
    response: {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: context.tokenLifetimeSeconds,
    },
    issued: {
      subject: mapped.subject,
      groups: mapped.groups,
      attributes: mapped.attributes,
      pool: provider.pool,
      audience: provider.audience,
      scopes,
      expiresAt: context.now + context.tokenLifetimeSeconds * 1000,
    },
  };
}
