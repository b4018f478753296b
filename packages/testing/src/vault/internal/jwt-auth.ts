// One JWT auth mount of vault-plugin-auth-jwt: `config`, `role/{name}` and `login`,
// with login validation in path_login.go's order and texts.
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { getClaim, validateBoundClaims } from "./claims.js";
import { asCommaStringSlice, asString, type RequestValue, unknownFields } from "./fields.js";
import { type JwtRole, readRole, writeRole } from "./jwt-role.js";
import { getJson, type KeySet, remoteKeySet, staticKeySet, TokenValidationError, validateToken } from "./jwt-verify.js";
import { badRequest, type HandlerResult, permissionDenied, VaultHttpError } from "./responses.js";
import type { AuthParams, TokenStore } from "./tokens.js";

interface JwtConfig {
  oidcDiscoveryUrl: string;
  oidcDiscoveryCaPem: string;
  jwksUrl: string;
  jwksCaPem: string;
  jwtValidationPubkeys: string[];
  jwtSupportedAlgs: string[];
  boundIssuer: string;
  defaultRole: string;
  keySet: KeySet;
}

const CONFIG_FIELDS = new Set([
  "oidc_discovery_url",
  "oidc_discovery_ca_pem",
  "oidc_client_id",
  "oidc_client_secret",
  "oidc_response_mode",
  "oidc_response_types",
  "jwks_url",
  "jwks_ca_pem",
  "jwks_pairs",
  "jwt_validation_pubkeys",
  "jwt_supported_algs",
  "bound_issuer",
  "default_role",
  "provider_config",
  "namespace_in_state",
  "unsupported_critical_cert_extensions",
]);
const SUPPORTED_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"];

/** State of one `auth/{mount}` JWT mount. */
export class JwtAuthMount {
  #config: JwtConfig | undefined;
  readonly roles = new Map<string, JwtRole>();

  constructor(
    readonly mountPath: string,
    private readonly tokens: TokenStore,
    private readonly now: () => number,
    private readonly namespace: string,
  ) {}

  /** `POST auth/{mount}/config`. */
  async writeConfig(body: Record<string, RequestValue>): Promise<HandlerResult | undefined> {
    const str = (key: string) => (body[key] === undefined ? "" : asString(key, body[key]!));
    const list = (key: string) => (body[key] === undefined ? [] : asCommaStringSlice(key, body[key]!));
    const config = {
      oidcDiscoveryUrl: str("oidc_discovery_url"),
      oidcDiscoveryCaPem: str("oidc_discovery_ca_pem"),
      jwksUrl: str("jwks_url"),
      jwksCaPem: str("jwks_ca_pem"),
      jwtValidationPubkeys: list("jwt_validation_pubkeys"),
      jwtSupportedAlgs: list("jwt_supported_algs"),
      boundIssuer: str("bound_issuer"),
      defaultRole: str("default_role"),
    };
    const methods = [config.oidcDiscoveryUrl !== "", config.jwtValidationPubkeys.length > 0, config.jwksUrl !== ""];
    if (methods.filter(Boolean).length !== 1) {
      throw badRequest(
        "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' must be set",
      );
    }
    let keySet: KeySet;
    if (config.oidcDiscoveryUrl !== "") {
      const jwksUri = await discoverJwks(config.oidcDiscoveryUrl, config.oidcDiscoveryCaPem);
      if (jwksUri === undefined) throw badRequest("error checking oidc discovery URL");
      keySet = remoteKeySet(jwksUri, config.oidcDiscoveryCaPem);
    } else if (config.jwksUrl !== "") {
      // Vault verifies a fixed foreign JWT against the JWKS: only a signature failure is acceptable.
      const response = await getJson(config.jwksUrl, config.jwksCaPem).catch(() => undefined);
      if (response === undefined || response.status !== 200 || !isJwks(response.body)) {
        throw badRequest(`error checking jwks URL ${config.jwksUrl}`);
      }
      keySet = remoteKeySet(config.jwksUrl, config.jwksCaPem);
    } else {
      keySet = staticKeySet(config.jwtValidationPubkeys);
    }
    const unsupported = config.jwtSupportedAlgs.filter((alg) => !SUPPORTED_ALGS.includes(alg));
    if (unsupported.length > 0) {
      throw badRequest(`invalid jwt_supported_algs: unsupported signing algorithm "${unsupported[0]}"`);
    }
    this.#config = { ...config, keySet };
    const ignored = unknownFields(body, CONFIG_FIELDS);
    return ignored.length > 0
      ? { warnings: [`Endpoint ignored these unrecognized parameters: [${ignored.join(" ")}]`] }
      : undefined;
  }

  /** `GET auth/{mount}/config`. */
  readConfig(): HandlerResult | undefined {
    const c = this.#config;
    if (c === undefined) return undefined;
    return {
      data: {
        oidc_discovery_url: c.oidcDiscoveryUrl,
        oidc_discovery_ca_pem: c.oidcDiscoveryCaPem,
        jwks_url: c.jwksUrl,
        jwks_ca_pem: c.jwksCaPem,
        jwt_validation_pubkeys: c.jwtValidationPubkeys,
        jwt_supported_algs: c.jwtSupportedAlgs,
        bound_issuer: c.boundIssuer,
        default_role: c.defaultRole,
      },
    };
  }

  /** `POST auth/{mount}/role/{name}`: 204, or 200 with warnings. */
  writeRole(name: string, body: Record<string, RequestValue>, maxLeaseTtl: number): HandlerResult | undefined {
    const key = name.toLowerCase();
    const { role, warnings } = writeRole(this.roles.get(key), body, maxLeaseTtl);
    this.roles.set(key, role);
    return warnings.length > 0 ? { warnings } : undefined;
  }

  readRole(name: string): HandlerResult | undefined {
    const role = this.roles.get(name.toLowerCase());
    return role === undefined ? undefined : { data: readRole(role) };
  }

  /** `POST auth/{mount}/login`: Vault's checks in order; returns the `auth` block of a new token. */
  async login(body: Record<string, RequestValue>, remoteAddress: string): Promise<HandlerResult> {
    const config = this.#config;
    if (config === undefined) throw badRequest("could not load configuration");
    const roleName = (body.role === undefined ? "" : asString("role", body.role).toLowerCase()) || config.defaultRole;
    if (roleName === "") throw badRequest("missing role");
    const role = this.roles.get(roleName);
    if (role === undefined) throw badRequest(`role "${roleName}" could not be found`);
    if (role.roleType === "oidc") throw badRequest("role with oidc role_type is not allowed");
    const token = body.jwt === undefined ? "" : asString("jwt", body.jwt);
    if (token.length === 0) throw badRequest("missing token");
    if (role.tokenBoundCidrs.length > 0 && !cidrAllows(role.tokenBoundCidrs, remoteAddress)) throw permissionDenied();

    let claims: Record<string, unknown>;
    try {
      claims = await validateToken(config.keySet, token, {
        issuer: config.boundIssuer,
        subject: role.boundSubject,
        audiences: role.boundAudiences,
        signingAlgorithms: config.jwtSupportedAlgs.length > 0 ? config.jwtSupportedAlgs : SUPPORTED_ALGS,
        notBeforeLeeway: role.notBeforeLeeway,
        expirationLeeway: role.expirationLeeway,
        clockSkewLeeway: role.clockSkewLeeway,
        nowMs: this.now(),
      });
    } catch (error) {
      if (error instanceof TokenValidationError) throw badRequest(`error validating token: ${error.message}`);
      throw error;
    }
    if (role.boundAudiences.length === 0) {
      const aud = claims.aud;
      if ((Array.isArray(aud) && aud.length > 0) || (typeof aud === "string" && aud !== "")) {
        throw badRequest("audience claim found in JWT but no audiences bound to the role");
      }
    }
    // createIdentity: the alias name, then claim mappings into metadata.
    const userValue = role.userClaimJsonPointer ? getClaim(claims, role.userClaim) : claims[role.userClaim];
    if (userValue === undefined || userValue === null) throw badRequest(`claim "${role.userClaim}" not found in token`);
    if (typeof userValue !== "string") throw badRequest(`claim "${role.userClaim}" could not be converted to string`);
    const metadata: Record<string, string> = {};
    for (const [source, target] of Object.entries(role.claimMappings ?? {})) {
      const value = getClaim(claims, source);
      if (value === undefined) continue;
      if (typeof value !== "string") throw badRequest(`error converting claim '${source}' to string`);
      metadata[target] = value;
    }
    metadata.role = roleName;
    if (role.groupsClaim !== "" && getClaim(claims, role.groupsClaim) === undefined) {
      throw badRequest(`"${role.groupsClaim}" claim not found in token`);
    }
    const boundError =
      role.boundClaims === undefined
        ? undefined
        : validateBoundClaims(role.boundClaims, claims, role.boundClaimsType === "glob");
    if (boundError !== undefined) throw badRequest(`error validating claims: ${boundError}`);

    const params: AuthParams = {
      policies: role.tokenPolicies,
      noDefaultPolicy: role.tokenNoDefaultPolicy,
      ttl: role.tokenTtl,
      maxTtl: role.tokenMaxTtl,
      explicitMaxTtl: role.tokenExplicitMaxTtl,
      period: role.tokenPeriod,
      numUses: role.tokenNumUses,
      tokenType: role.tokenType === "batch" || role.tokenType === "default-batch" ? "batch" : "service",
      displayName: `${this.mountPath.replace(/^auth\//, "").replace(/\/$/, "")}-${userValue}`,
      metadata,
      mountPath: this.mountPath,
      namespace: this.namespace,
      renewParams: () => {
        const current = this.roles.get(roleName);
        if (current === undefined) throw new Error(`role ${roleName} does not exist during renewal`);
        return { ttl: current.tokenTtl, maxTtl: current.tokenMaxTtl, period: current.tokenPeriod };
      },
    };
    const { auth, warnings } = this.tokens.issue(params);
    return { auth, warnings };
  }
}

async function discoverJwks(issuer: string, caPem: string): Promise<string | undefined> {
  try {
    const response = await getJson(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, caPem);
    if (response.status !== 200) return undefined;
    const doc = JSON.parse(response.body) as { issuer?: unknown; jwks_uri?: unknown };
    // cap: the discovery document's issuer must equal the configured URL exactly.
    if (doc.issuer !== issuer || typeof doc.jwks_uri !== "string") return undefined;
    return doc.jwks_uri;
  } catch {
    return undefined;
  }
}

function isJwks(body: string): boolean {
  try {
    return Array.isArray((JSON.parse(body) as { keys?: unknown }).keys);
  } catch {
    return false;
  }
}

function cidrAllows(cidrs: string[], address: string): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split("/");
    if (net === undefined) continue;
    const type = isIPv4(net) ? "ipv4" : isIPv6(net) ? "ipv6" : undefined;
    if (type === undefined) throw new VaultHttpError(500, [`invalid CIDR ${cidr}`]);
    if (bits === undefined) list.addAddress(net, type);
    else list.addSubnet(net, Number(bits), type);
  }
  const mapped = address.startsWith("::ffff:") ? address.slice(7) : address;
  return list.check(mapped, isIPv4(mapped) ? "ipv4" : "ipv6");
}
