import { reject } from "./errors.js";
import {
  lookup,
  optionalStringArray,
  type Payload,
  requireBoolean,
  requireString,
  requireStringArray,
} from "./internal/claim-access.js";
import type { ResolvedPolicy } from "./resolve-policy.js";

/** The only production value of `dbgstat`. */
const DEBUG_DISABLED = "disabled-since-boot";
/** `swname` of the Confidential Space image. */
const CONFIDENTIAL_SPACE = "CONFIDENTIAL_SPACE";
/** One decimal version, as `swversion` carries it (`["240500"]`). */
const VERSION = /^[0-9]{1,15}$/;

/**
 * Checks the workload claims of a verified payload against `policy`. Types are checked
 * before values: an array claim must be an array, a boolean a boolean.
 */
export function checkPolicy(payload: Payload, policy: ResolvedPolicy): void {
  if (requireString(payload, "swname") !== CONFIDENTIAL_SPACE) {
    throw reject("swname", `swname must be ${CONFIDENTIAL_SPACE}`, "swname");
  }
  if (!policy.hardwareModels.has(requireString(payload, "hwmodel"))) {
    throw reject("hwmodel", "hwmodel is not an allowed confidential-computing hardware model", "hwmodel");
  }
  if (requireBoolean(payload, "secboot") !== true) {
    throw reject("secboot", "secboot must be true (Secure Boot enabled)", "secboot");
  }
  if (requireString(payload, "dbgstat") !== DEBUG_DISABLED && !policy.allowDebug) {
    throw reject("dbgstat", `dbgstat must be ${DEBUG_DISABLED} (debug images need policy.allowDebug)`, "dbgstat");
  }
  checkSwVersion(payload, policy.minSwVersion);

  const attributesPath = "submods.confidential_space.support_attributes";
  // Absent means "no support attributes" (debug images), not a malformed token.
  const attributes = optionalStringArray(payload, attributesPath) ?? [];
  if (!policy.supportAttributes.every((required) => attributes.includes(required))) {
    throw reject(
      "support_attributes",
      `support_attributes must include ${policy.supportAttributes.join(", ")}`,
      attributesPath,
    );
  }

  allowed(payload, "submods.container.image_digest", policy.imageDigests, "image_digest", "image digest");
  checkSignatureKeys(payload, policy.imageSignatureKeyIds);
  allowed(payload, "submods.gce.project_id", policy.projectIds, "project", "project id");
  allowed(payload, "submods.gce.project_number", policy.projectNumbers, "project", "project number");
  allowed(payload, "submods.container.restart_policy", policy.restartPolicies, "restart_policy", "restart policy");

  if (policy.serviceAccounts !== undefined) {
    const accounts = requireStringArray(payload, "google_service_accounts");
    const allow = policy.serviceAccounts;
    if (!accounts.some((account) => allow.has(account))) {
      throw reject(
        "service_account",
        "no service account of the token is in the allow-list",
        "google_service_accounts",
      );
    }
  }
}

function checkSwVersion(payload: Payload, minimum: number | undefined): void {
  const versions = requireStringArray(payload, "swversion");
  const [version] = versions;
  if (versions.length !== 1 || version === undefined || !VERSION.test(version)) {
    throw reject("claim_type", "swversion must be an array of one decimal string", "swversion");
  }
  if (minimum !== undefined && Number(version) < minimum) {
    throw reject("swversion", `swversion is below the minimum ${minimum}`, "swversion");
  }
}

/** Some signature the service verified (`image_signatures[]`) is by an allowed key. Absent: an unsigned image. */
function checkSignatureKeys(payload: Payload, allow: ReadonlySet<string> | undefined): void {
  if (allow === undefined) return;
  const path = "submods.container.image_signatures";
  const signatures = lookup(payload, path) ?? [];
  if (!Array.isArray(signatures)) throw reject("claim_type", `"${path}" must be an array`, path);
  const signed = signatures.some(
    (s: unknown) =>
      typeof s === "object" &&
      s !== null &&
      typeof (s as { key_id?: unknown }).key_id === "string" &&
      allow.has((s as { key_id: string }).key_id),
  );
  if (!signed) throw reject("image_signature", "no image signature of the token is by an allowed key", path);
}

function allowed(
  payload: Payload,
  path: string,
  allow: ReadonlySet<string> | undefined,
  check: "image_digest" | "project" | "restart_policy",
  what: string,
): void {
  if (allow === undefined) return;
  if (!allow.has(requireString(payload, path))) throw reject(check, `the ${what} is not in the allow-list`, path);
}
