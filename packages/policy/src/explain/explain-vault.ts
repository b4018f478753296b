import { claimAtPath, show, shownValue } from "./claim-values.js";
import type { ExplainedClause } from "./explanation.js";

type Claims = Readonly<Record<string, unknown>>;

/** Fields of a JWT auth role (Vault / OpenBao `auth/jwt/role/NAME`), the token_* ones included. */
const ROLE_FIELDS = new Set([
  "role_type",
  "bound_audiences",
  "user_claim",
  "user_claim_json_pointer",
  "clock_skew_leeway",
  "expiration_leeway",
  "not_before_leeway",
  "bound_subject",
  "bound_claims",
  "bound_claims_type",
  "groups_claim",
  "claim_mappings",
  "oidc_scopes",
  "allowed_redirect_uris",
  "verbose_oidc_logging",
  "max_age",
  "token_ttl",
  "token_max_ttl",
  "token_policies",
  "policies",
  "token_bound_cidrs",
  "bound_cidrs",
  "token_explicit_max_ttl",
  "token_no_default_policy",
  "token_num_uses",
  "token_period",
  "token_type",
  "ttl",
  "max_ttl",
  "period",
  "num_uses",
  "alias_metadata",
]);
const NEAR: Record<string, string> = {
  claims_mappings: "claim_mappings",
  bound_claim: "bound_claims",
  bound_audience: "bound_audiences",
};

/** Fields of the JWT auth method's configuration (`auth/jwt/config`). */
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

/** Unknown fields: Vault ignores them with a warning, so a misspelt one silently does nothing. */
function unknownFields(doc: Record<string, unknown>, known: Set<string>, what: string): string[] {
  return Object.keys(doc)
    .filter((key) => !known.has(key))
    .map((key) => `${key} is not a ${what} field: Vault ignores it${NEAR[key] ? `; did you mean ${NEAR[key]}?` : ""}`);
}

/** The auth method's configuration: `bound_issuer` is compared with `iss` exactly. */
export function explainVaultConfig(
  config: Record<string, unknown>,
  claims: Claims,
): { clauses: ExplainedClause[]; warnings: string[] } {
  const warnings = unknownFields(config, CONFIG_FIELDS, "JWT auth config");
  const clauses: ExplainedClause[] = [];
  if (typeof config.bound_issuer === "string" && config.bound_issuer !== "") {
    const bound = config.bound_issuer;
    const ok = claims.iss === bound;
    // Only read when the issuer does not match (the message tests ok first).
    const slash = bound.replace(/\/+$/, "") === claims.iss;
    clauses.push({
      clause: `bound_issuer ${show(bound)}`,
      ok,
      claim: "iss",
      value: shownValue(claims, "iss"),
      message: ok
        ? "the issuer matches"
        : slash
          ? "bound_issuer has a trailing slash the token's iss does not: Vault compares exactly; remove it"
          : "the token's iss is not bound_issuer",
    });
  }
  return { clauses, warnings };
}

/** A role: audiences, subject, user claim and `bound_claims`, as the JWT auth plugin checks them. */
export function explainVaultRole(
  role: Record<string, unknown>,
  claims: Claims,
): { clauses: ExplainedClause[]; warnings: string[] } {
  const warnings = unknownFields(role, ROLE_FIELDS, "JWT role");
  const clauses: ExplainedClause[] = [];
  const audiences = Array.isArray(role.bound_audiences)
    ? (role.bound_audiences as unknown[])
    : typeof role.bound_audiences === "string"
      ? role.bound_audiences.split(",")
      : [];
  const tokenAud = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (audiences.length > 0 || tokenAud.length > 0) {
    const ok = audiences.length > 0 && tokenAud.some((aud) => audiences.includes(aud));
    clauses.push({
      clause: `bound_audiences ${show(audiences)}`,
      ok,
      claim: "aud",
      value: shownValue(claims, "aud"),
      message: ok
        ? "the audience is bound"
        : audiences.length === 0
          ? "the token carries aud but the role binds no audiences: Vault refuses it"
          : "the token's aud is not in bound_audiences",
    });
  }
  if (typeof role.bound_subject === "string" && role.bound_subject !== "") {
    const ok = claims.sub === role.bound_subject;
    clauses.push({
      clause: `bound_subject ${show(role.bound_subject)}`,
      ok,
      claim: "sub",
      value: shownValue(claims, "sub"),
      message: ok ? "the subject matches" : "the token's sub is not bound_subject",
    });
  }
  const userClaim = typeof role.user_claim === "string" ? role.user_claim : "sub";
  const userPath = pointerToPath(userClaim);
  const user = claimAtPath(claims, userPath);
  clauses.push({
    clause: `user_claim ${show(userClaim)}`,
    ok: typeof user === "string" || typeof user === "number",
    claim: userPath,
    message:
      typeof user === "string" || typeof user === "number"
        ? "present"
        : "the token has no such claim (or it is not a string): Vault refuses the login",
  });
  const glob = role.bound_claims_type === "glob";
  const bound = (role.bound_claims ?? {}) as Record<string, unknown>;
  for (const [key, expected] of Object.entries(bound)) {
    const path = pointerToPath(key);
    const actual = claimAtPath(claims, path);
    const actualList = actual === undefined ? undefined : normalize(actual);
    const expectedList = normalize(expected) ?? [];
    let ok = false;
    let message: string;
    if (actual === undefined) message = "the claim is missing";
    else if (actualList === undefined) message = "the claim is neither a string nor a list: Vault refuses it";
    else {
      ok = actualList.some((a) => expectedList.some((e) => matches(String(e), a, glob)));
      message = ok ? "matches" : `no listed value matches${spaceHint(expectedList, actualList)}`;
    }
    clauses.push({
      clause: `bound_claims.${key} ${show(expected)}`,
      ok,
      claim: path,
      ...(shownValue(claims, path) !== undefined && { value: shownValue(claims, path) }),
      message,
    });
  }
  return { clauses, warnings };
}

/** `/submods/gce/project_id` → `submods.gce.project_id`; a key without `/` is a top-level claim name. */
function pointerToPath(key: string): string {
  if (!key.startsWith("/")) return key;
  return key
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

/** A string or bool is a list of one; lists stay lists; anything else is not comparable (as the plugin's normalizeList). */
function normalize(value: unknown): string[] | undefined {
  if (typeof value === "string" || typeof value === "boolean") return [String(value)];
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  return undefined;
}

function matches(expected: string, actual: string, glob: boolean): boolean {
  if (!glob) return expected === actual;
  const source = expected
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`, "s").test(actual);
}

function spaceHint(expected: readonly unknown[], actual: readonly string[]): string {
  for (const e of expected) {
    if (typeof e === "string" && e !== e.trim() && actual.includes(e.trim())) {
      return `: the bound value ${JSON.stringify(e)} has surrounding whitespace; the claim is ${JSON.stringify(e.trim())}`;
    }
  }
  return "";
}
