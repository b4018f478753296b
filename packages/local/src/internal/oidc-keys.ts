import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";

/** How long the discovery document fetch may take (ms). */
const DISCOVERY_TIMEOUT_MS = 5_000;

/** Largest discovery document read (bytes). */
const MAX_DISCOVERY_BYTES = 64 * 1024;

/**
 * The signing keys of an OIDC issuer, resolved lazily: `jwksUri` when given, else
 * `jwks_uri` from `{issuer}/.well-known/openid-configuration`. A failed discovery is
 * not cached, so the next call tries again.
 */
export function issuerKeys(issuer: string, jwksUri?: string): () => Promise<JWTVerifyGetKey> {
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  return () => {
    keySet ??= resolve(issuer, jwksUri).catch((error: unknown) => {
      keySet = undefined;
      throw error;
    });
    return keySet;
  };
}

async function resolve(issuer: string, jwksUri: string | undefined): Promise<JWTVerifyGetKey> {
  if (jwksUri) return createRemoteJWKSet(new URL(jwksUri));
  const discovery = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const response = await fetch(discovery, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`OIDC discovery at ${discovery} answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_DISCOVERY_BYTES) throw new Error(`OIDC discovery at ${discovery} is too large`);
  const document = JSON.parse(text) as { jwks_uri?: unknown };
  if (typeof document.jwks_uri !== "string") throw new Error(`OIDC discovery at ${discovery} has no jwks_uri`);
  return createRemoteJWKSet(new URL(document.jwks_uri));
}
