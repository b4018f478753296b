import { CONFIDENTIAL_SPACE_ISSUER } from "../claims.js";
import { assertFetchableUrl } from "./internal/url.js";
import type { AttestationVerifierOptions, VerificationPolicy, VerifierTokenType } from "./options.js";

/** Hardware that runs a confidential-memory TEE. */
export const DEFAULT_HARDWARE_MODELS: readonly string[] = Object.freeze([
  "GCP_AMD_SEV",
  "GCP_AMD_SEV_ES",
  "GCP_INTEL_TDX",
]);
/** Not a TEE: a Shielded VM does not protect memory from the host. Refused even if listed. */
const SHIELDED_VM = "GCP_SHIELDED_VM";

/** A {@link VerificationPolicy} with defaults applied and lists turned into sets. */
export interface ResolvedPolicy {
  imageDigests: ReadonlySet<string> | undefined;
  projectIds: ReadonlySet<string> | undefined;
  projectNumbers: ReadonlySet<string> | undefined;
  serviceAccounts: ReadonlySet<string> | undefined;
  hardwareModels: ReadonlySet<string>;
  supportAttributes: readonly string[];
  minSwVersion: number | undefined;
  restartPolicies: ReadonlySet<string> | undefined;
  allowDebug: boolean;
}

/** {@link AttestationVerifierOptions} with every default applied and validated. */
export interface ResolvedOptions {
  audience: string;
  issuer: string;
  tokenType: VerifierTokenType;
  pkiRootFingerprint: Buffer | undefined;
  jwksUri: string | undefined;
  policy: ResolvedPolicy;
  requireNonce: boolean;
  clockToleranceMs: number;
  maxTokenAgeMs: number;
  maxTokenBytes: number;
  jwksCacheMaxAgeMs: number;
  jwksCooldownMs: number;
  maxStaleMs: number;
  httpTimeoutMs: number;
  maxResponseBytes: number;
  now: () => number;
  fetch: typeof globalThis.fetch;
}

/**
 * Applies defaults and refuses configurations that are unsafe or cannot work. Throws
 * `TypeError` naming the option: these are programming errors, raised at construction.
 */
export function resolveOptions(options: AttestationVerifierOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const { audience } = options;
  if (typeof audience !== "string" || audience.length === 0) {
    throw new TypeError("options.audience must be a non-empty string");
  }
  const issuer = options.issuer ?? CONFIDENTIAL_SPACE_ISSUER;
  assertFetchableUrl(issuer, "options.issuer");
  const tokenType = options.tokenType ?? "OIDC";
  if (tokenType !== "OIDC" && tokenType !== "PKI") throw new TypeError('options.tokenType must be "OIDC" or "PKI"');
  let pkiRootFingerprint: Buffer | undefined;
  if (tokenType === "PKI") {
    pkiRootFingerprint = parseFingerprint(options.pkiRootFingerprint);
    if (options.jwksUri !== undefined) throw new TypeError('options.jwksUri is not used with tokenType "PKI"');
  } else if (options.pkiRootFingerprint !== undefined) {
    throw new TypeError('options.pkiRootFingerprint requires tokenType "PKI"');
  }
  if (options.jwksUri !== undefined) assertFetchableUrl(options.jwksUri, "options.jwksUri");
  const clock = options.clock ?? Date.now;
  const now = typeof clock === "function" ? clock : () => clock.now();
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") throw new TypeError("options.fetch must be a function (no global fetch found)");
  return {
    audience,
    issuer,
    tokenType,
    pkiRootFingerprint,
    jwksUri: options.jwksUri,
    policy: resolvePolicy(options.policy ?? {}),
    requireNonce: bool(options.requireNonce, false, "options.requireNonce"),
    clockToleranceMs: duration(options.clockToleranceMs, 30_000, "options.clockToleranceMs"),
    maxTokenAgeMs: duration(options.maxTokenAgeMs, 3_600_000, "options.maxTokenAgeMs"),
    maxTokenBytes: positive(options.maxTokenBytes, 32_768, "options.maxTokenBytes"),
    jwksCacheMaxAgeMs: duration(options.jwksCacheMaxAgeMs, 600_000, "options.jwksCacheMaxAgeMs"),
    jwksCooldownMs: duration(options.jwksCooldownMs, 30_000, "options.jwksCooldownMs"),
    maxStaleMs: duration(options.maxStaleMs, 86_400_000, "options.maxStaleMs"),
    httpTimeoutMs: positive(options.httpTimeoutMs, 5_000, "options.httpTimeoutMs"),
    maxResponseBytes: positive(options.maxResponseBytes, 65_536, "options.maxResponseBytes"),
    now,
    fetch: fetchImpl,
  };
}

function resolvePolicy(policy: VerificationPolicy): ResolvedPolicy {
  const hardwareModels = list(policy.hardwareModels, "policy.hardwareModels") ?? new Set(DEFAULT_HARDWARE_MODELS);
  if (hardwareModels.has(SHIELDED_VM)) {
    throw new TypeError(`policy.hardwareModels must not list ${SHIELDED_VM}: a Shielded VM is not a TEE`);
  }
  const supportAttributes = policy.supportAttributes ?? ["STABLE"];
  if (!Array.isArray(supportAttributes) || !supportAttributes.every((a) => typeof a === "string" && a.length > 0)) {
    throw new TypeError("policy.supportAttributes must be an array of non-empty strings");
  }
  const { minSwVersion } = policy;
  if (minSwVersion !== undefined && !(Number.isSafeInteger(minSwVersion) && minSwVersion >= 0)) {
    throw new TypeError("policy.minSwVersion must be a non-negative integer");
  }
  return {
    imageDigests: list(policy.imageDigests, "policy.imageDigests"),
    projectIds: list(policy.projectIds, "policy.projectIds"),
    projectNumbers: list(policy.projectNumbers, "policy.projectNumbers"),
    serviceAccounts: list(policy.serviceAccounts, "policy.serviceAccounts"),
    hardwareModels,
    supportAttributes: Object.freeze([...supportAttributes]),
    minSwVersion,
    restartPolicies: list(policy.restartPolicies, "policy.restartPolicies"),
    allowDebug: bool(policy.allowDebug, false, "policy.allowDebug"),
  };
}

function list(value: readonly string[] | undefined, name: string): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === "string" && v.length > 0)) {
    throw new TypeError(`${name} must be a non-empty array of non-empty strings (omit it to skip the check)`);
  }
  return new Set(value);
}

function parseFingerprint(value: unknown): Buffer {
  const hex = typeof value === "string" ? value.replaceAll(":", "") : "";
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError(
      'options.pkiRootFingerprint must be the SHA-256 of the root certificate in hex (tokenType "PKI")',
    );
  }
  return Buffer.from(hex, "hex");
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number of milliseconds >= 0`);
  }
  return value;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function bool(value: boolean | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`${name} must be a boolean`);
  return value;
}
