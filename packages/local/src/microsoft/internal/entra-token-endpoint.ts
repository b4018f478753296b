import { type EntraSigningKey, mintAccessToken } from "./entra-access-token.js";
import { checkAssertion, checkSecret, type RegisteredClient } from "./entra-client-auth.js";
import { type EntraFailure, entraFailures } from "./entra-errors.js";

const DEFAULT_SUFFIX = "/.default";

/** Everything the token endpoint needs from its server. */
export interface TokenEndpointContext {
  tenantId: string;
  tokenEndpoint: string;
  clients: ReadonlyMap<string, RegisteredClient>;
  signingKey: EntraSigningKey;
  tokenLifetimeSeconds: number;
  refreshInSeconds: number | undefined;
  now: number;
}

/** The success body of Entra's v2.0 token endpoint for the client-credentials grant. */
export interface EntraTokenResponse {
  token_type: "Bearer";
  expires_in: number;
  ext_expires_in: number;
  refresh_in?: number;
  access_token: string;
}

/**
 * Runs the client-credentials grant on a parsed form body (tenant already checked).
 * Order of checks: grant type, client, client authentication, scope.
 */
export async function clientCredentialsGrant(
  form: URLSearchParams,
  context: TokenEndpointContext,
): Promise<EntraTokenResponse | EntraFailure> {
  const grantType = form.get("grant_type");
  if (!grantType) return entraFailures.missingParameter("grant_type");
  if (grantType !== "client_credentials") return entraFailures.unsupportedGrantType();

  const clientId = form.get("client_id");
  if (!clientId) return entraFailures.missingParameter("client_id");
  const client = context.clients.get(clientId.toLowerCase());
  if (!client) return entraFailures.unknownClient(clientId, context.tenantId);

  const secret = form.get("client_secret");
  const assertion = form.get("client_assertion");
  if ((secret === null) === (assertion === null)) return entraFailures.noClientCredential();
  const authFailure =
    secret !== null
      ? checkSecret(client, secret)
      : await checkAssertion(client, assertion!, form.get("client_assertion_type"), context.tokenEndpoint, context.now);
  if (authFailure) return authFailure;

  const scope = form.get("scope");
  if (scope === null || scope.trim() === "") return entraFailures.missingParameter("scope");
  const resource = resourceOf(scope);
  if (typeof resource !== "string") return resource;

  const accessToken = await mintAccessToken(context.signingKey, {
    tenantId: context.tenantId,
    clientId: client.clientId,
    resource,
    certificate: assertion !== null,
    now: context.now,
    lifetimeSeconds: context.tokenLifetimeSeconds,
  });
  const response: EntraTokenResponse = {
    token_type: "Bearer",
    expires_in: context.tokenLifetimeSeconds,
    ext_expires_in: context.tokenLifetimeSeconds,
    access_token: accessToken,
  };
  if (context.refreshInSeconds !== undefined) response.refresh_in = context.refreshInSeconds;
  return response;
}

/** Client credentials take exactly one `{resource}/.default` scope; returns the resource. */
function resourceOf(scope: string): string | EntraFailure {
  const scopes = scope.trim().split(/\s+/);
  if (scopes.length !== 1) {
    return entraFailures.invalidScope(scope, "Client credential flows take exactly one '{resource}/.default' scope.");
  }
  const only = scopes[0]!;
  if (!only.endsWith(DEFAULT_SUFFIX) || only.length === DEFAULT_SUFFIX.length) {
    return entraFailures.invalidScope(
      only,
      "Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
    );
  }
  return only.slice(0, -DEFAULT_SUFFIX.length);
}
