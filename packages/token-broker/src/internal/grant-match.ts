import type { GrantMatch } from "../config-types.js";
import { claimAt } from "./session-tags.js";

/** The production value of `dbgstat`. */
const DEBUG_DISABLED = "disabled-since-boot";

/**
 * Whether verified claims satisfy a grant's `match`: the one call the grant index makes,
 * so another matcher replaces this file alone.
 */
export function compileGrantMatch(match: GrantMatch): (claims: Record<string, unknown>) => boolean {
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
