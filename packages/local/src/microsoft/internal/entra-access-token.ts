import { createHash, randomBytes } from "node:crypto";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

/** Entra backdates `iat`/`nbf` of access tokens by five minutes to absorb clock skew (seconds). */
const BACKDATE_S = 300;

/** The local Entra endpoint's own token-signing key. */
export interface EntraSigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** The public JWKS served at `/{tenant}/discovery/v2.0/keys`. */
  jwks: { keys: JWK[] };
}

/** Generates a fresh RS256 key for one server instance. */
export async function createSigningKey(): Promise<EntraSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const kid = randomBytes(20).toString("base64url");
  const jwk = await exportJWK(publicKey);
  return { kid, privateKey, jwks: { keys: [{ ...jwk, kid, x5t: kid, use: "sig", alg: "RS256" }] } };
}

/** What one access token is for. */
export interface AccessTokenRequest {
  tenantId: string;
  clientId: string;
  /** The resource (scope without `/.default`), used as the single-string `aud`. */
  resource: string;
  /** Whether the client authenticated with a certificate (`appidacr` "2") or a secret ("1"). */
  certificate: boolean;
  /** Issue time (ms since the epoch). */
  now: number;
  lifetimeSeconds: number;
}

/**
 * Mints a v1.0 app-only access token like Entra's for a resource that asks for v1
 * tokens (Azure Storage does): issuer `https://sts.windows.net/{tenant}/`.
 */
export async function mintAccessToken(key: EntraSigningKey, request: AccessTokenRequest): Promise<string> {
  const nowS = Math.floor(request.now / 1000);
  const issuer = `https://sts.windows.net/${request.tenantId}/`;
  const objectId = servicePrincipalId(request.tenantId, request.clientId);
  return new SignJWT({
    appid: request.clientId,
    appidacr: request.certificate ? "2" : "1",
    azp: request.clientId,
    idp: issuer,
    oid: objectId,
    tid: request.tenantId,
    uti: randomBytes(16).toString("base64url"),
    ver: "1.0",
  })
    .setProtectedHeader({ typ: "JWT", alg: "RS256", kid: key.kid, x5t: key.kid })
    .setIssuer(issuer)
    .setAudience(request.resource)
    .setSubject(objectId)
    .setIssuedAt(nowS - BACKDATE_S)
    .setNotBefore(nowS - BACKDATE_S)
    .setExpirationTime(nowS + request.lifetimeSeconds)
    .sign(key.privateKey);
}

/** A stable GUID for the app's service principal in the tenant (same inputs, same id). */
function servicePrincipalId(tenantId: string, clientId: string): string {
  const hex = createHash("sha256").update(`${tenantId.toLowerCase()}\n${clientId.toLowerCase()}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
