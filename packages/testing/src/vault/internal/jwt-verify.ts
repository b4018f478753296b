// JWT validation as hashicorp/cap's jwt.Validator does it for vault-plugin-auth-jwt:
// signature first (go-oidc RemoteKeySet for jwks_url / oidc_discovery_url, or static
// keys), then claim-name collisions, the alg allow-list, iss/sub/aud, and the time
// claims with the role's leeways. Error texts are cap's and go-oidc's.
import http from "node:http";
import https from "node:https";
import { compactVerify, importJWK, importSPKI, importX509, type JWK } from "jose";

/** go-oidc's `allAlgs`: anything else is a malformed JWT to it. */
const ALL_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"];
const REGISTERED = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
const DEFAULT_LEEWAY_SECONDS = 150;
const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** A failed validation: `message` is the text Vault puts after "error validating token: ". */
export class TokenValidationError extends Error {}

/** Verifies a token's signature and returns its claims, or throws {@link TokenValidationError}. */
export interface KeySet {
  verifySignature(token: string): Promise<Record<string, unknown>>;
}

/** GETs a JSON document (discovery, JWKS) over http or https with an optional CA. */
export async function getJson(
  url: string,
  caPem?: string,
): Promise<{ status: number; statusText: string; body: string }> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return await new Promise((resolve, reject) => {
    const req = client.get(target, { ca: caPem || undefined, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: `${res.statusCode} ${res.statusMessage ?? ""}`.trim(),
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`Get "${url}": context deadline exceeded`)));
    req.on("error", reject);
  });
}

interface ParsedJws {
  header: Record<string, unknown>;
  alg: string;
  kid: string;
}

function parseCompact(token: string, prefix: string): ParsedJws {
  const parts = token.split(".");
  if (parts.length !== 3)
    throw new TokenValidationError(`${prefix}go-jose/go-jose: compact JWS format must have three parts`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new TokenValidationError(`${prefix}${(error as Error).message}`);
  }
  const alg = typeof header.alg === "string" ? header.alg : "";
  if (!ALL_ALGS.includes(alg)) {
    throw new TokenValidationError(
      `${prefix}go-jose/go-jose: unexpected signature algorithm "${alg}"; expected [${ALL_ALGS.map((a) => `"${a}"`).join(" ")}]`,
    );
  }
  return { header, alg, kid: typeof header.kid === "string" ? header.kid : "" };
}

async function verifyWith(token: string, jwk: JWK, alg: string): Promise<Record<string, unknown> | undefined> {
  try {
    const key = await importJWK(jwk, alg);
    const { payload } = await compactVerify(token, key, { algorithms: [alg] });
    return JSON.parse(Buffer.from(payload).toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** go-oidc's RemoteKeySet: cached keys first, then one fetch of the JWKS, then "failed to verify id token signature". */
export function remoteKeySet(jwksUrl: string, caPem?: string): KeySet {
  let cached: JWK[] = [];
  async function fetchKeys(): Promise<JWK[]> {
    let response: Awaited<ReturnType<typeof getJson>>;
    try {
      response = await getJson(jwksUrl, caPem);
    } catch (error) {
      throw new TokenValidationError(`fetching keys oidc: get keys failed ${(error as Error).message}`);
    }
    if (response.status !== 200) {
      throw new TokenValidationError(`fetching keys oidc: get keys failed: ${response.statusText} ${response.body}`);
    }
    try {
      const keys = (JSON.parse(response.body) as { keys?: JWK[] }).keys;
      return Array.isArray(keys) ? keys : [];
    } catch (error) {
      throw new TokenValidationError(
        `fetching keys oidc: failed to decode keys: ${(error as Error).message} ${response.body}`,
      );
    }
  }
  async function tryKeys(token: string, jws: ParsedJws, keys: JWK[]): Promise<Record<string, unknown> | undefined> {
    for (const key of keys) {
      if (jws.kid !== "" && key.kid !== jws.kid) continue;
      const claims = await verifyWith(token, key, jws.alg);
      if (claims !== undefined) return claims;
    }
    return undefined;
  }
  return {
    async verifySignature(token) {
      const jws = parseCompact(token, "error verifying token signature: oidc: malformed jwt: ");
      const fromCache = await tryKeys(token, jws, cached);
      if (fromCache !== undefined) return fromCache;
      let keys: JWK[];
      try {
        keys = await fetchKeys();
      } catch (error) {
        throw new TokenValidationError(`error verifying token signature: ${(error as Error).message}`);
      }
      cached = keys;
      const claims = await tryKeys(token, jws, keys);
      if (claims === undefined)
        throw new TokenValidationError("error verifying token signature: failed to verify id token signature");
      return claims;
    },
  };
}

/** cap's staticKeySet over `jwt_validation_pubkeys` (PEM public keys or certificates). */
export function staticKeySet(pems: string[]): KeySet {
  return {
    async verifySignature(token) {
      const jws = parseCompact(token, "error verifying token signature: ");
      for (const pem of pems) {
        try {
          const key = pem.includes("CERTIFICATE") ? await importX509(pem, jws.alg) : await importSPKI(pem, jws.alg);
          const { payload } = await compactVerify(token, key, { algorithms: [jws.alg] });
          return JSON.parse(Buffer.from(payload).toString("utf8")) as Record<string, unknown>;
        } catch {
          // try the next key
        }
      }
      throw new TokenValidationError(
        "error verifying token signature: no known key successfully validated the token signature",
      );
    },
  };
}

/** What the role and config expect of a token (cap's `jwt.Expected`). Leeways in seconds: 0 = default, negative = none. */
export interface Expected {
  issuer: string;
  subject: string;
  audiences: string[];
  signingAlgorithms: string[];
  notBeforeLeeway: number;
  expirationLeeway: number;
  clockSkewLeeway: number;
  nowMs: number;
}

function numericDate(claims: Record<string, unknown>, name: string): number {
  const value = claims[name];
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number") {
    throw new TokenValidationError(
      `json: cannot unmarshal ${typeof value === "string" ? "string" : Array.isArray(value) ? "array" : typeof value} into Go struct field Claims.${name} of type jwt.NumericDate`,
    );
  }
  return Math.trunc(value);
}

function stringClaim(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") {
    throw new TokenValidationError(
      `json: cannot unmarshal ${typeof value} into Go struct field Claims.${name} of type string`,
    );
  }
  return value;
}

function audience(claims: Record<string, unknown>): string[] {
  const aud = claims.aud;
  if (aud === undefined || aud === null) return [];
  if (typeof aud === "string") return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === "string")) return aud as string[];
  throw new TokenValidationError("go-jose/go-jose/jwt: expected string or array value to unmarshal to Audience");
}

/** cap `Validator.Validate`: returns all claims, or throws {@link TokenValidationError} with cap's text. */
export async function validateToken(
  keySet: KeySet,
  token: string,
  expected: Expected,
): Promise<Record<string, unknown>> {
  const claims = await keySet.verifySignature(token);
  for (const key of Object.keys(claims)) {
    for (const name of REGISTERED) {
      if (key !== name && key.toLowerCase() === name) {
        throw new TokenValidationError(
          `ambiguous claim: key "${key}" collides with registered claim "${name}" under case folding`,
        );
      }
    }
  }
  const alg = parseCompact(token, "").alg;
  const algorithms = expected.signingAlgorithms.length > 0 ? expected.signingAlgorithms : ["RS256"];
  if (!algorithms.includes(alg)) {
    throw new TokenValidationError("invalid algorithm (alg) header parameter: token signed with unexpected algorithm");
  }
  const iss = stringClaim(claims, "iss");
  const sub = stringClaim(claims, "sub");
  const aud = audience(claims);
  let exp = numericDate(claims, "exp");
  let nbf = numericDate(claims, "nbf");
  const iat = numericDate(claims, "iat");
  if (expected.issuer !== "" && expected.issuer !== iss) throw new TokenValidationError("invalid issuer (iss) claim");
  if (expected.subject !== "" && expected.subject !== sub)
    throw new TokenValidationError("invalid subject (sub) claim");
  if (expected.audiences.length > 0 && !expected.audiences.some((a) => aud.includes(a))) {
    throw new TokenValidationError("invalid audience (aud) claim: audience claim does not match any expected audience");
  }
  if (iat === 0 && exp === 0 && nbf === 0) {
    throw new TokenValidationError("no issued at (iat), not before (nbf), or expiration time (exp) claims in token");
  }
  const leeway = (seconds: number, fallback: number) => (seconds < 0 ? 0 : seconds === 0 ? fallback : seconds);
  // A missing exp or nbf is synthesised from the others; the expiration/not-before
  // leeways are used only for that (FACTS.md, Vault / OpenBao).
  if (exp === 0) exp = Math.max(iat, nbf) + leeway(expected.expirationLeeway, DEFAULT_LEEWAY_SECONDS);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway(expected.notBeforeLeeway, DEFAULT_LEEWAY_SECONDS);
  const skewMs = leeway(expected.clockSkewLeeway, DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const now = expected.nowMs;
  if (now + skewMs < nbf * 1000) throw new TokenValidationError("invalid not before (nbf) claim: token not yet valid");
  if (now - skewMs > exp * 1000)
    throw new TokenValidationError("invalid expiration time (exp) claim: token is expired");
  if (iat !== 0 && now + skewMs < iat * 1000) {
    throw new TokenValidationError("invalid issued at (iat) claim: token issued in the future");
  }
  return claims;
}
