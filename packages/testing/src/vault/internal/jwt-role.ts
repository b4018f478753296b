// `auth/{mount}/role/{name}` of vault-plugin-auth-jwt (path_role.go) with tokenutil's
// token fields: parsing, the checks in Vault's order and texts, and the role read-back.

import { normalizeList } from "./claims.js";
import {
  asBool,
  asCommaStringSlice,
  asDurationSeconds,
  asInt,
  asKvPairs,
  asMap,
  asString,
  plain,
  type RequestValue,
  unknownFields,
} from "./fields.js";
import { badRequest } from "./responses.js";

/** A stored JWT role. Durations in seconds. */
export interface JwtRole {
  roleType: string;
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenExplicitMaxTtl: number;
  tokenPeriod: number;
  tokenType: "default" | "service" | "batch" | "default-service" | "default-batch";
  tokenNumUses: number;
  tokenNoDefaultPolicy: boolean;
  tokenBoundCidrs: string[];
  boundAudiences: string[];
  boundSubject: string;
  boundClaimsType: string;
  boundClaims?: Record<string, unknown>;
  claimMappings?: Record<string, string>;
  userClaim: string;
  userClaimJsonPointer: boolean;
  groupsClaim: string;
  expirationLeeway: number;
  notBeforeLeeway: number;
  clockSkewLeeway: number;
  allowedRedirectUris: string[];
  oidcScopes: string[];
  maxAge: number;
  verboseOidcLogging: boolean;
  /** Deprecated aliases, kept as Vault keeps them for read-back. */
  policies: string[];
}

const TOKEN_FIELDS = [
  "token_bound_cidrs",
  "token_explicit_max_ttl",
  "token_max_ttl",
  "token_no_default_policy",
  "token_num_uses",
  "token_period",
  "token_policies",
  "token_type",
  "token_ttl",
];
const KNOWN = new Set([
  ...TOKEN_FIELDS,
  "name",
  "role_type",
  "policies",
  "num_uses",
  "ttl",
  "max_ttl",
  "period",
  "bound_cidrs",
  "expiration_leeway",
  "not_before_leeway",
  "clock_skew_leeway",
  "bound_subject",
  "bound_audiences",
  "bound_claims_type",
  "bound_claims",
  "claim_mappings",
  "user_claim",
  "user_claim_json_pointer",
  "groups_claim",
  "oidc_scopes",
  "allowed_redirect_uris",
  "verbose_oidc_logging",
  "max_age",
]);
const TOKEN_TYPES = new Set(["default", "service", "batch", "default-service", "default-batch"]);

function emptyRole(): JwtRole {
  return {
    roleType: "oidc",
    tokenPolicies: [],
    tokenTtl: 0,
    tokenMaxTtl: 0,
    tokenExplicitMaxTtl: 0,
    tokenPeriod: 0,
    tokenType: "default",
    tokenNumUses: 0,
    tokenNoDefaultPolicy: false,
    tokenBoundCidrs: [],
    boundAudiences: [],
    boundSubject: "",
    boundClaimsType: "string",
    userClaim: "",
    userClaimJsonPointer: false,
    groupsClaim: "",
    expirationLeeway: 0,
    notBeforeLeeway: 0,
    clockSkewLeeway: 0,
    allowedRedirectUris: [],
    oidcScopes: [],
    maxAge: 0,
    verboseOidcLogging: false,
    policies: [],
  };
}

/**
 * pathRoleCreateUpdate: applies `body` over `existing` (or a new role) and returns the role
 * and Vault's warnings, or throws the 400 Vault answers. `maxLeaseTtl` is the mount's.
 */
export function writeRole(
  existing: JwtRole | undefined,
  body: Record<string, RequestValue>,
  maxLeaseTtl: number,
): { role: JwtRole; warnings: string[] } {
  const role: JwtRole = existing === undefined ? emptyRole() : structuredClone(existing);
  const has = (key: string) => Object.hasOwn(body, key);
  const warnings: string[] = [];
  const ignored = unknownFields(body, KNOWN);
  if (ignored.length > 0) warnings.push(`Endpoint ignored these unrecognized parameters: [${ignored.join(" ")}]`);

  // data.Get("role_type") is "" when absent, so an update without it makes the role "oidc" again.
  const roleType = has("role_type") ? asString("role_type", body.role_type!) || "oidc" : "oidc";
  if (roleType !== "jwt" && roleType !== "oidc") throw badRequest(`invalid 'role_type': ${roleType}`);
  role.roleType = roleType;

  // tokenutil.ParseTokenFields
  if (has("token_bound_cidrs")) role.tokenBoundCidrs = asCommaStringSlice("token_bound_cidrs", body.token_bound_cidrs!);
  if (has("token_explicit_max_ttl"))
    role.tokenExplicitMaxTtl = asDurationSeconds("token_explicit_max_ttl", body.token_explicit_max_ttl!);
  if (has("token_max_ttl")) role.tokenMaxTtl = asDurationSeconds("token_max_ttl", body.token_max_ttl!);
  if (has("token_no_default_policy"))
    role.tokenNoDefaultPolicy = asBool("token_no_default_policy", body.token_no_default_policy!);
  if (has("token_period")) role.tokenPeriod = asDurationSeconds("token_period", body.token_period!);
  if (has("token_policies")) role.tokenPolicies = asCommaStringSlice("token_policies", body.token_policies!);
  if (has("token_type")) {
    const type = asString("token_type", body.token_type!);
    if (!TOKEN_TYPES.has(type)) throw badRequest(`invalid 'token_type' value "${type}"`);
    role.tokenType = type as JwtRole["tokenType"];
  }
  if (has("token_ttl")) role.tokenTtl = asDurationSeconds("token_ttl", body.token_ttl!);
  if (has("token_num_uses")) {
    role.tokenNumUses = asInt("token_num_uses", body.token_num_uses!);
    if (role.tokenNumUses < 0) throw badRequest("'token_num_uses' cannot be negative");
  }
  if (role.tokenTtl > 0 && role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) {
    throw badRequest("'token_ttl' cannot be greater than 'token_max_ttl'");
  }

  // tokenutil.UpgradeValue: a deprecated field counts only when its successor is absent.
  if (!has("token_policies") && has("policies")) {
    role.policies = asCommaStringSlice("policies", body.policies!);
    role.tokenPolicies = role.policies;
  } else if (has("token_policies")) {
    role.policies = [];
  }
  if (!has("token_ttl") && has("ttl")) role.tokenTtl = asDurationSeconds("ttl", body.ttl!);
  if (!has("token_max_ttl") && has("max_ttl")) role.tokenMaxTtl = asDurationSeconds("max_ttl", body.max_ttl!);
  if (!has("token_period") && has("period")) role.tokenPeriod = asDurationSeconds("period", body.period!);
  if (!has("token_num_uses") && has("num_uses")) role.tokenNumUses = asInt("num_uses", body.num_uses!);
  if (!has("token_bound_cidrs") && has("bound_cidrs"))
    role.tokenBoundCidrs = asCommaStringSlice("bound_cidrs", body.bound_cidrs!);

  if (role.tokenPeriod > maxLeaseTtl) {
    throw badRequest(
      `'period' of '"${role.tokenPeriod}s"' is greater than the backend's maximum lease TTL of '"${maxLeaseTtl}s"'`,
    );
  }
  if (has("expiration_leeway"))
    role.expirationLeeway = asDurationSeconds("expiration_leeway", body.expiration_leeway!, true);
  if (has("not_before_leeway"))
    role.notBeforeLeeway = asDurationSeconds("not_before_leeway", body.not_before_leeway!, true);
  if (has("clock_skew_leeway"))
    role.clockSkewLeeway = asDurationSeconds("clock_skew_leeway", body.clock_skew_leeway!, true);
  if (has("bound_audiences")) role.boundAudiences = asCommaStringSlice("bound_audiences", body.bound_audiences!);
  if (has("bound_subject")) role.boundSubject = asString("bound_subject", body.bound_subject!);
  if (has("verbose_oidc_logging")) role.verboseOidcLogging = asBool("verbose_oidc_logging", body.verbose_oidc_logging!);
  if (has("max_age")) role.maxAge = asDurationSeconds("max_age", body.max_age!);

  const boundClaimsType = has("bound_claims_type") ? asString("bound_claims_type", body.bound_claims_type!) : "string";
  if (boundClaimsType !== "string" && boundClaimsType !== "glob") {
    throw badRequest(`invalid 'bound_claims_type': ${boundClaimsType}`);
  }
  role.boundClaimsType = boundClaimsType;
  if (has("bound_claims")) {
    role.boundClaims = asMap("bound_claims", body.bound_claims!);
    if (boundClaimsType === "glob") {
      for (const values of Object.values(role.boundClaims)) {
        const list = normalizeList(values);
        if (list === undefined)
          throw badRequest(`claim is not a string or list: ${JSON.stringify(plain(values as RequestValue))}`);
        for (const value of list) {
          if (typeof value !== "string")
            throw badRequest(`claim is not a string: ${JSON.stringify(plain(value as RequestValue))}`);
        }
      }
    }
  }
  if (has("claim_mappings")) {
    const mappings = asKvPairs("claim_mappings", body.claim_mappings!);
    const targets = new Set<string>();
    for (const target of Object.values(mappings)) {
      if (target === "role") throw badRequest(`metadata key "role" is reserved and may not be a mapping destination`);
      if (targets.has(target)) throw badRequest(`multiple keys are mapped to metadata key "${target}"`);
      targets.add(target);
    }
    role.claimMappings = mappings;
  }
  if (has("user_claim")) role.userClaim = asString("user_claim", body.user_claim!);
  if (role.userClaim === "") throw badRequest("a user claim must be defined on the role");
  if (has("user_claim_json_pointer"))
    role.userClaimJsonPointer = asBool("user_claim_json_pointer", body.user_claim_json_pointer!);
  if (has("groups_claim")) role.groupsClaim = asString("groups_claim", body.groups_claim!);
  if (has("oidc_scopes")) role.oidcScopes = asCommaStringSlice("oidc_scopes", body.oidc_scopes!);
  if (has("allowed_redirect_uris"))
    role.allowedRedirectUris = asCommaStringSlice("allowed_redirect_uris", body.allowed_redirect_uris!);
  if (role.roleType === "oidc" && role.allowedRedirectUris.length === 0) {
    throw badRequest("'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
  }
  if (
    roleType !== "oidc" &&
    role.boundAudiences.length === 0 &&
    role.tokenBoundCidrs.length === 0 &&
    role.boundSubject === "" &&
    (role.boundClaims === undefined || Object.keys(role.boundClaims).length === 0)
  ) {
    throw badRequest("must have at least one bound constraint when creating/updating a role");
  }
  if (role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl)
    throw badRequest("ttl should not be greater than max ttl");
  if (role.tokenMaxTtl > maxLeaseTtl) {
    warnings.push(
      "token max ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
    );
  }
  return { role, warnings };
}

/** pathRoleRead's data. */
export function readRole(role: JwtRole): Record<string, unknown> {
  return {
    role_type: role.roleType,
    expiration_leeway: role.expirationLeeway,
    not_before_leeway: role.notBeforeLeeway,
    clock_skew_leeway: role.clockSkewLeeway,
    bound_audiences: role.boundAudiences,
    bound_subject: role.boundSubject,
    bound_claims_type: role.boundClaimsType,
    bound_claims: role.boundClaims === undefined ? null : plain(role.boundClaims as RequestValue),
    claim_mappings: role.claimMappings ?? null,
    user_claim: role.userClaim,
    user_claim_json_pointer: role.userClaimJsonPointer,
    groups_claim: role.groupsClaim,
    allowed_redirect_uris: role.allowedRedirectUris,
    oidc_scopes: role.oidcScopes,
    verbose_oidc_logging: role.verboseOidcLogging,
    max_age: role.maxAge,
    token_bound_cidrs: role.tokenBoundCidrs,
    token_explicit_max_ttl: role.tokenExplicitMaxTtl,
    token_max_ttl: role.tokenMaxTtl,
    token_no_default_policy: role.tokenNoDefaultPolicy,
    token_period: role.tokenPeriod,
    token_policies: role.tokenPolicies,
    token_type: role.tokenType,
    token_ttl: role.tokenTtl,
    token_num_uses: role.tokenNumUses,
    ...(role.policies.length > 0 ? { policies: role.policies } : {}),
  };
}
