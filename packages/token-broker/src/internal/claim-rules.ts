import type { BrokerPolicy, GrantMatch } from "../config-types.js";
import {
  compact,
  fail,
  integer,
  object,
  optionalBoolean,
  optionalStringList,
  type Plain,
  type StringRules,
} from "./config-reader.js";

// Formats of the claims a policy or a grant can list. Exact matching means a value in
// the wrong format could never match: refusing it at startup catches the typo.
const IMAGE_DIGEST: StringRules = {
  pattern: /^sha256:[0-9a-f]{64}$/,
  patternMessage: 'must be "sha256:" followed by 64 lowercase hex digits',
};
const PROJECT_ID: StringRules = {
  pattern: /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
  patternMessage: "must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)",
};
const PROJECT_NUMBER: StringRules = { pattern: /^[0-9]{1,20}$/, patternMessage: "must be a decimal string" };
const SERVICE_ACCOUNT: StringRules = {
  pattern: /^[^@\s]+@[^@\s]+$/,
  patternMessage: "must be a service account email",
  maxLength: 320,
};
const SIGNATURE_KEY_ID: StringRules = {
  pattern: /^[A-Za-z0-9_.:=+/-]{1,256}$/,
  patternMessage: "must be an image-signature key ID",
};
const HARDWARE: StringRules = { pattern: /^GCP_[A-Z0-9_]+$/, patternMessage: "must be a hwmodel such as GCP_AMD_SEV" };
const SUPPORT_ATTRIBUTES = ["EXPERIMENTAL", "USABLE", "STABLE", "LATEST"];
const RESTART_POLICIES = ["Always", "OnFailure", "Never"];

const enumRule = (choices: string[]): StringRules => ({
  pattern: new RegExp(`^(?:${choices.join("|")})$`),
  patternMessage: `must be one of ${choices.join(", ")}`,
});

/** Fields shared by the verifier policy and a grant's `match`. */
const CLAIM_FIELDS = [
  "imageDigests",
  "imageSignatureKeyIds",
  "projectIds",
  "projectNumbers",
  "serviceAccounts",
  "hardwareModels",
  "supportAttributes",
  "minSwVersion",
  "restartPolicies",
  "allowDebug",
  "allowAnyWorkload",
] as const;

/** What pins workloads, as the verifier counts it. */
const PIN_RULE = "imageDigests, imageSignatureKeyIds, or projectIds/projectNumbers together with serviceAccounts";

function pinsWorkloads(match: GrantMatch): boolean {
  if (match.imageDigests !== undefined || match.imageSignatureKeyIds !== undefined) return true;
  // A project alone admits anything anyone in it runs; its service accounts say which workload.
  return (match.projectIds !== undefined || match.projectNumbers !== undefined) && match.serviceAccounts !== undefined;
}

/** Reads the claim conditions common to {@link VerificationPolicy} and {@link GrantMatch}. */
function claimConditions(value: Plain, path: string, allowEmptySupport: boolean): GrantMatch {
  const hardwareModels = optionalStringList(value.hardwareModels, `${path}.hardwareModels`, HARDWARE);
  const shielded = hardwareModels?.indexOf("GCP_SHIELDED_VM") ?? -1;
  if (shielded >= 0) {
    fail(`${path}.hardwareModels[${shielded}]`, "GCP_SHIELDED_VM is not a confidential-computing TEE");
  }
  let supportAttributes: string[] | undefined;
  if (allowEmptySupport && Array.isArray(value.supportAttributes) && value.supportAttributes.length === 0) {
    supportAttributes = [];
  } else {
    supportAttributes = optionalStringList(
      value.supportAttributes,
      `${path}.supportAttributes`,
      enumRule(SUPPORT_ATTRIBUTES),
    );
  }
  return compact({
    imageDigests: optionalStringList(value.imageDigests, `${path}.imageDigests`, IMAGE_DIGEST),
    imageSignatureKeyIds: optionalStringList(
      value.imageSignatureKeyIds,
      `${path}.imageSignatureKeyIds`,
      SIGNATURE_KEY_ID,
    ),
    projectIds: optionalStringList(value.projectIds, `${path}.projectIds`, PROJECT_ID),
    projectNumbers: optionalStringList(value.projectNumbers, `${path}.projectNumbers`, PROJECT_NUMBER),
    serviceAccounts: optionalStringList(value.serviceAccounts, `${path}.serviceAccounts`, SERVICE_ACCOUNT),
    hardwareModels,
    supportAttributes,
    minSwVersion:
      value.minSwVersion === undefined
        ? undefined
        : integer(value.minSwVersion, `${path}.minSwVersion`, 0, Number.MAX_SAFE_INTEGER),
    restartPolicies: optionalStringList(value.restartPolicies, `${path}.restartPolicies`, enumRule(RESTART_POLICIES)),
    allowDebug: optionalBoolean(value.allowDebug, `${path}.allowDebug`),
    allowAnyWorkload: optionalBoolean(value.allowAnyWorkload, `${path}.allowAnyWorkload`),
  });
}

/**
 * Anyone can run a Confidential Space VM and get a Google-signed token for any audience:
 * a rule that pins no image, project or service account admits every workload on the
 * planet. Refused unless `allowAnyWorkload: true` says so; with it, no pin is allowed
 * either (the two would contradict each other).
 */
function requirePin(match: GrantMatch, path: string): void {
  const pinned = pinsWorkloads(match);
  if (match.allowAnyWorkload === true) {
    if (pinned) fail(`${path}.allowAnyWorkload`, "contradicts the workload pin listed next to it");
    return;
  }
  if (!pinned) {
    fail(path, `must pin workloads: list ${PIN_RULE} (or set allowAnyWorkload: true to admit every workload)`);
  }
}

/**
 * Reads `attestation.policy`: the verifier's policy, which must pin workloads (or say
 * `allowAnyWorkload: true`). `supportAttributes: []` is allowed here (it accepts debug
 * images, which have none, when `allowDebug` is set).
 */
export function readPolicy(value: unknown, path: string): BrokerPolicy {
  const policy = claimConditions(object(value, path, CLAIM_FIELDS), path, true);
  requirePin(policy, path);
  return policy as BrokerPolicy;
}

/** Reads `grants[i].match`; it must pin workloads (or say `allowAnyWorkload: true`). */
export function readGrantMatch(value: unknown, path: string): GrantMatch {
  const match = claimConditions(object(value, path, CLAIM_FIELDS), path, false);
  requirePin(match, path);
  return match;
}
