import { InvalidOptionError } from "@confspace/core";
import {
  DEFAULT_HARDWARE_MODELS,
  DEFAULT_SUPPORT_ATTRIBUTES,
  type HardwareModel,
  type ImageSignaturePolicy,
  RESTART_POLICIES,
  type ResolvedWorkloadPolicy,
  type RestartPolicy,
  SUPPORT_ATTRIBUTES,
  type SupportAttribute,
  WORKLOAD_POLICY_KEYS,
  type WorkloadPolicy,
} from "./workload-policy.js";

/** Options of {@link validatePolicy}. */
export interface ValidatePolicyOptions {
  /**
   * Where the policy sits in its caller's options, prefixed to every error's `option`
   * (`policy`, `grants[0].match`). Default `"policy"`.
   */
  path?: string;
}

/** One format of a listed claim value. */
interface Format {
  test(value: string): boolean;
  /** Completes "`path` …" when a value does not match. */
  message: string;
  maxLength?: number;
}

const pattern = (regex: RegExp, message: string, maxLength?: number): Format => ({
  test: (value) => regex.test(value),
  message,
  maxLength,
});
const oneOf = (choices: readonly string[]): Format => ({
  test: (value) => choices.includes(value),
  message: `must be one of ${choices.join(", ")}`,
});

// Matching is exact: a value in the wrong format could never match, so refusing it here
// catches the typo (a trailing space inside a digest) before it silently denies every token.
const IMAGE_DIGEST = pattern(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" followed by 64 lowercase hex digits');
const PROJECT_ID = pattern(
  /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
  "must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)",
);
const PROJECT_NUMBER = pattern(/^[0-9]{1,20}$/, "must be a project number (a decimal string)");
const SERVICE_ACCOUNT = pattern(/^[^@\s]+@[^@\s]+$/, "must be a service account email", 320);
const KEY_ID = pattern(
  /^[A-Za-z0-9_.:=+/-]{1,256}$/,
  "must be an image-signature key ID (the lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo)",
);
const HARDWARE = oneOf(DEFAULT_HARDWARE_MODELS);
const SUPPORT = oneOf(SUPPORT_ATTRIBUTES);
const RESTART = oneOf(RESTART_POLICIES);
/** Not a TEE: a Shielded VM does not protect memory from the host. */
const SHIELDED_VM = "GCP_SHIELDED_VM";
/** Longest audience the launcher accepts, in bytes. */
const MAX_AUDIENCE_BYTES = 512;
const PIN_RULE = "imageDigests, imageSignatures, or projectIds/projectNumbers together with serviceAccounts";

/** Policies this module made: the evaluator and renderers take them without checking again. */
const validated = new WeakSet<object>();

/**
 * Checks a {@link WorkloadPolicy} (from code, JSON or YAML) and returns a frozen copy with
 * defaults applied. Unknown keys, wrong types, malformed values (a digest with a trailing
 * space, an unknown support attribute), duplicates, empty lists, `GCP_SHIELDED_VM`, a
 * threshold outside `1..keyIds.length`, and a policy that pins no workload without
 * `allowAnyWorkload: true` are all refused.
 *
 * A policy that already came from here is returned as it is.
 *
 * @throws InvalidOptionError naming the first bad field as `option`, e.g.
 *   `policy.imageDigests[1]` or `policy.imageSignatures.threshold`.
 *
 * @example
 * ```ts
 * import { validatePolicy } from "@confspace/policy";
 *
 * const policy = validatePolicy({
 *   imageSignatures: { keyIds: ["5b2a…", "9c41…", "e07d…"], threshold: 2 },
 *   supportAttributes: ["STABLE"],
 * });
 * ```
 */
export function validatePolicy(
  policy: WorkloadPolicy | ResolvedWorkloadPolicy,
  options?: ValidatePolicyOptions,
): ResolvedWorkloadPolicy {
  if (isValidatedPolicy(policy)) return policy;
  const path = options?.path ?? "policy";
  const p = knownKeys(policy, WORKLOAD_POLICY_KEYS, path);
  const hardwareModels = list<HardwareModel>(p.hardwareModels, `${path}.hardwareModels`, HARDWARE, {
    refuse: { value: SHIELDED_VM, why: "GCP_SHIELDED_VM is not a confidential-computing TEE" },
  });
  const supportAttributes = list<SupportAttribute>(p.supportAttributes, `${path}.supportAttributes`, SUPPORT, {
    allowEmpty: true,
  });
  const resolved: Record<string, unknown> = {
    imageDigests: list(p.imageDigests, `${path}.imageDigests`, IMAGE_DIGEST),
    imageSignatures: imageSignatures(p.imageSignatures, `${path}.imageSignatures`),
    projectIds: list(p.projectIds, `${path}.projectIds`, PROJECT_ID),
    projectNumbers: list(p.projectNumbers, `${path}.projectNumbers`, PROJECT_NUMBER),
    serviceAccounts: list(p.serviceAccounts, `${path}.serviceAccounts`, SERVICE_ACCOUNT),
    hardwareModels: hardwareModels ?? DEFAULT_HARDWARE_MODELS,
    supportAttributes: supportAttributes ?? DEFAULT_SUPPORT_ATTRIBUTES,
    minSwVersion: minSwVersion(p.minSwVersion, `${path}.minSwVersion`),
    allowDebug: bool(p.allowDebug, `${path}.allowDebug`),
    restartPolicies: list<RestartPolicy>(p.restartPolicies, `${path}.restartPolicies`, RESTART),
    audience: audience(p.audience, `${path}.audience`),
    allowAnyWorkload: bool(p.allowAnyWorkload, `${path}.allowAnyWorkload`),
  };
  for (const key of Object.keys(resolved)) if (resolved[key] === undefined) delete resolved[key];
  const frozen = Object.freeze(resolved) as unknown as ResolvedWorkloadPolicy;
  requireWorkloadPin(frozen, path);
  validated.add(frozen);
  return frozen;
}

/** Whether `policy` came from {@link validatePolicy} (so it needs no second check). */
export function isValidatedPolicy(policy: unknown): policy is ResolvedWorkloadPolicy {
  // WeakSet.has is false for anything that is not an object.
  return validated.has(policy as object);
}

/**
 * Whether `policy` pins which workloads it admits: an image (digest or signing keys), or a
 * project together with service accounts. A project alone admits any image anyone with
 * access to it runs; a service account alone can run VMs of other projects.
 */
export function pinsWorkload(policy: WorkloadPolicy | ResolvedWorkloadPolicy): boolean {
  const project = policy.projectIds !== undefined || policy.projectNumbers !== undefined;
  return (
    policy.imageDigests !== undefined ||
    policy.imageSignatures !== undefined ||
    (project && policy.serviceAccounts !== undefined)
  );
}

function requireWorkloadPin(policy: ResolvedWorkloadPolicy, path: string): void {
  const pinned = pinsWorkload(policy);
  if (policy.allowAnyWorkload && pinned) {
    invalid(`${path}.allowAnyWorkload`, "contradicts the workload pin of the policy (remove one of the two)");
  }
  if (!policy.allowAnyWorkload && !pinned) {
    invalid(
      path,
      "pins no workload: anyone can run a Confidential Space VM and get a Google-signed token for any audience. " +
        `Set ${PIN_RULE} (or allowAnyWorkload: true to admit every workload)`,
    );
  }
}

function invalid(option: string, problem: string): never {
  throw new InvalidOptionError(option, `${option} ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Why a tempting key is refused: said instead of the plain list. */
const HINTS: Readonly<Record<string, string>> = {
  imageSignatureKeyIds:
    "is not a policy field: say imageSignatures: { keyIds, threshold } (threshold 1 for any one key)",
};

function knownKeys(value: unknown, known: readonly string[], path: string): Record<string, unknown> {
  if (!isPlainObject(value)) invalid(path, "must be an object");
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    invalid(
      `${path}.${key}`,
      (Object.hasOwn(HINTS, key) ? HINTS[key] : undefined) ?? `is not a policy field (known: ${known.join(", ")})`,
    );
  }
  return value;
}

function string(value: unknown, path: string, format: Format): string {
  if (typeof value !== "string" || value.length === 0) invalid(path, "must be a non-empty string");
  if (value.trim() !== value) invalid(path, "has leading or trailing whitespace (matching is exact)");
  if (value.length > (format.maxLength ?? 2048))
    invalid(path, `must be at most ${format.maxLength ?? 2048} characters`);
  if (!format.test(value)) invalid(path, format.message);
  return value;
}

interface ListRules {
  allowEmpty?: boolean;
  refuse?: { value: string; why: string };
}

/** Absent → `undefined`; else an array of distinct strings in `format`, frozen. */
function list<T extends string = string>(
  value: unknown,
  path: string,
  format: Format,
  rules: ListRules = {},
): readonly T[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) invalid(path, "must be an array of strings");
  if (value.length === 0 && rules.allowEmpty !== true) {
    invalid(path, "must not be empty (omit it to skip the check)");
  }
  const seen = new Set<string>();
  value.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (rules.refuse !== undefined && item === rules.refuse.value) invalid(itemPath, rules.refuse.why);
    const entry = string(item, itemPath, format);
    if (seen.has(entry)) invalid(itemPath, "is listed twice");
    seen.add(entry);
  });
  return Object.freeze([...(value as T[])]);
}

function bool(value: unknown, path: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") invalid(path, "must be true or false");
  return value;
}

function minSwVersion(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  // Number.isSafeInteger is false for anything that is not a number.
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    invalid(path, "must be a non-negative integer (e.g. 240500)");
  return value as number;
}

function audience(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  const text = string(value, path, pattern(/^\S+$/, "must not contain whitespace"));
  if (Buffer.byteLength(text) > MAX_AUDIENCE_BYTES) invalid(path, `must be at most ${MAX_AUDIENCE_BYTES} bytes`);
  return text;
}

function imageSignatures(value: unknown, path: string): Readonly<ImageSignaturePolicy> | undefined {
  if (value === undefined) return undefined;
  const o = knownKeys(value, ["keyIds", "threshold"], path);
  if (o.keyIds === undefined) invalid(`${path}.keyIds`, "is required (the key IDs whose signatures count)");
  const keyIds = list(o.keyIds, `${path}.keyIds`, KEY_ID) as readonly string[];
  const threshold = o.threshold as number;
  if (threshold === undefined) {
    invalid(`${path}.threshold`, "is required: how many of keyIds must have signed the image (1 for any one)");
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1) invalid(`${path}.threshold`, "must be a positive integer");
  if (threshold > keyIds.length) {
    invalid(`${path}.threshold`, `must be at most the number of keyIds (${keyIds.length})`);
  }
  return Object.freeze({ keyIds, threshold });
}
