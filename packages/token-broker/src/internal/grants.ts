import type { GrantConfig, GrantMatch } from "../config-types.js";
import { claimAt } from "./session-tags.js";

/** The production value of `dbgstat`. */
const DEBUG_DISABLED = "disabled-since-boot";

/** An AWS role as one grant gives it. */
export interface GrantedRole {
  roleArn: string;
  /** Longest session, seconds. */
  maxDurationSeconds: number;
  /** Tag key → claim path. */
  sessionTags: Readonly<Record<string, string>> | undefined;
  /** Send the verified session name as `SourceIdentity`. */
  setSourceIdentity: boolean;
}

/** A grant prepared for matching: lists turned into sets, defaults applied. */
export interface CompiledGrant {
  readonly name: string;
  readonly match: GrantMatch;
  /** Scope → tenant name, first listing wins. */
  readonly azureScopes: ReadonlyMap<string, string>;
  /** Role ARN → role. */
  readonly awsRoles: ReadonlyMap<string, GrantedRole>;
  /** Whether these claims satisfy `match`. */
  matches(claims: Record<string, unknown>): boolean;
}

/** Default longest AWS session a grant gives, seconds. */
export const DEFAULT_MAX_DURATION_SECONDS = 3600;

/** Prepares validated grants for {@link findAzureGrant} / {@link findAwsGrant}. */
export function compileGrants(grants: readonly GrantConfig[]): CompiledGrant[] {
  return grants.map((grant) => {
    const azureScopes = new Map<string, string>();
    for (const entry of grant.azure ?? []) {
      for (const scope of entry.scopes) if (!azureScopes.has(scope)) azureScopes.set(scope, entry.tenant);
    }
    const awsRoles = new Map<string, GrantedRole>();
    for (const entry of grant.aws ?? []) {
      awsRoles.set(entry.roleArn, {
        roleArn: entry.roleArn,
        maxDurationSeconds: entry.maxDurationSeconds ?? DEFAULT_MAX_DURATION_SECONDS,
        sessionTags: entry.sessionTags,
        setSourceIdentity: entry.setSourceIdentity === true,
      });
    }
    const matcher = compileMatch(grant.match);
    return Object.freeze({ name: grant.name, match: grant.match, azureScopes, awsRoles, matches: matcher });
  });
}

/** Outcome of looking up a grant: the grant, or why there is none. */
export type GrantLookup<T> =
  | { granted: true; grant: CompiledGrant; value: T }
  | { granted: false; reason: "no_matching_grant" | "not_granted" };

/**
 * The first grant (in configuration order) that matches `claims` and lists `scope`, with
 * the tenant it names. Exact string comparison throughout.
 */
export function findAzureGrant(
  grants: readonly CompiledGrant[],
  claims: Record<string, unknown>,
  scope: string,
): GrantLookup<string> {
  return find(grants, claims, (grant) => grant.azureScopes.get(scope));
}

/** The first grant (in configuration order) that matches `claims` and lists `roleArn`. */
export function findAwsGrant(
  grants: readonly CompiledGrant[],
  claims: Record<string, unknown>,
  roleArn: string,
): GrantLookup<GrantedRole> {
  return find(grants, claims, (grant) => grant.awsRoles.get(roleArn));
}

function find<T>(
  grants: readonly CompiledGrant[],
  claims: Record<string, unknown>,
  pick: (grant: CompiledGrant) => T | undefined,
): GrantLookup<T> {
  let anyMatch = false;
  for (const grant of grants) {
    if (!grant.matches(claims)) continue;
    anyMatch = true;
    const value = pick(grant);
    if (value !== undefined) return { granted: true, grant, value };
  }
  return { granted: false, reason: anyMatch ? "not_granted" : "no_matching_grant" };
}

function compileMatch(match: GrantMatch): (claims: Record<string, unknown>) => boolean {
  const set = (values: readonly string[] | undefined) => (values === undefined ? undefined : new Set(values));
  const imageDigests = set(match.imageDigests);
  const projectIds = set(match.projectIds);
  const projectNumbers = set(match.projectNumbers);
  const serviceAccounts = set(match.serviceAccounts);
  const signatureKeyIds = set(match.imageSignatureKeyIds);
  const hardwareModels = set(match.hardwareModels);
  const restartPolicies = set(match.restartPolicies);
  const supportAttributes = match.supportAttributes;
  const minSwVersion = match.minSwVersion;
  const allowDebug = match.allowDebug === true;

  return (claims) => {
    if (!inSet(imageDigests, claimAt(claims, "submods.container.image_digest"))) return false;
    if (!inSet(projectIds, claimAt(claims, "submods.gce.project_id"))) return false;
    if (!inSet(projectNumbers, claimAt(claims, "submods.gce.project_number"))) return false;
    if (!inSet(hardwareModels, claims.hwmodel)) return false;
    if (!inSet(restartPolicies, claimAt(claims, "submods.container.restart_policy"))) return false;
    if (claims.dbgstat !== DEBUG_DISABLED && !allowDebug) return false;
    if (serviceAccounts !== undefined) {
      const accounts = claims.google_service_accounts;
      if (!Array.isArray(accounts) || !accounts.some((a) => typeof a === "string" && serviceAccounts.has(a))) {
        return false;
      }
    }
    if (signatureKeyIds !== undefined) {
      // Signatures the attestation service verified; any one by a listed key will do.
      const signatures = claimAt(claims, "submods.container.image_signatures");
      const signed =
        Array.isArray(signatures) &&
        signatures.some((s: unknown) => {
          const keyId = typeof s === "object" && s !== null ? (s as { key_id?: unknown }).key_id : undefined;
          return typeof keyId === "string" && signatureKeyIds.has(keyId);
        });
      if (!signed) return false;
    }
    if (supportAttributes !== undefined) {
      // An array is an array: "UNSTABLE".includes("STABLE") is true, so never test a string.
      const present = claimAt(claims, "submods.confidential_space.support_attributes");
      if (!Array.isArray(present) || !supportAttributes.every((a) => present.includes(a))) return false;
    }
    if (minSwVersion !== undefined) {
      const versions = claims.swversion;
      const version = Array.isArray(versions) && versions.length === 1 ? versions[0] : undefined;
      if (typeof version !== "string" || !/^[0-9]{1,15}$/.test(version) || Number(version) < minSwVersion) {
        return false;
      }
    }
    return true;
  };
}

function inSet(allowed: ReadonlySet<string> | undefined, value: unknown): boolean {
  return allowed === undefined || (typeof value === "string" && allowed.has(value));
}
