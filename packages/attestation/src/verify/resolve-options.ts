import type { ResolvedWorkloadPolicy } from "@confspace/policy";
import { CONFIDENTIAL_SPACE_ISSUER } from "../claims.js";
import { AttestationVerifierOptionError } from "./errors.js";
import { bool, duration, invalid, knownKeys, orDefault, positive } from "./internal/option-checks.js";
import { isJsonObject } from "./internal/payload.js";
import { fetchableUrlProblem } from "./internal/url.js";
import type { AttestationVerifierOptions, VerifierTokenType } from "./options.js";
import { resolvePkiRoot } from "./pki-root.js";
import { resolvePolicy } from "./resolve-policy.js";

/** Every key of {@link AttestationVerifierOptions}; any other is refused. */
const OPTION_KEYS = [
  "audience",
  "issuer",
  "tokenType",
  "pkiRootFingerprint",
  "pkiRootCertificate",
  "jwksUri",
  "policy",
  "requireNonce",
  "clockToleranceMs",
  "maxTokenAgeMs",
  "maxTokenBytes",
  "jwksCacheMaxAgeMs",
  "jwksCooldownMs",
  "maxStaleMs",
  "httpTimeoutMs",
  "maxResponseBytes",
  "clock",
  "fetch",
] as const satisfies readonly (keyof AttestationVerifierOptions)[];

/** {@link AttestationVerifierOptions} with every default applied and validated. */
export interface ResolvedOptions {
  audience: string;
  issuer: string;
  tokenType: VerifierTokenType;
  pkiRootFingerprint: Buffer | undefined;
  jwksUri: string | undefined;
  policy: ResolvedWorkloadPolicy;
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
 * Applies defaults and refuses configurations that are unknown, unsafe or cannot work.
 * Throws `AttestationVerifierOptionError` naming the option: these are
 * programming or configuration errors, raised at construction.
 */
export function resolveOptions(options: AttestationVerifierOptions): ResolvedOptions {
  knownKeys(options, OPTION_KEYS);
  const { audience } = options;
  if (typeof audience !== "string" || audience.length === 0) invalid("audience", "must be a non-empty string");
  // Only a missing option (undefined) takes its default: `null`, e.g. from a JSON config,
  // is a value, and refused like any other wrong one.
  const issuer = orDefault(options.issuer, CONFIDENTIAL_SPACE_ISSUER);
  fetchable(issuer, "issuer");
  const tokenType = orDefault(options.tokenType, "OIDC");
  if (tokenType !== "OIDC" && tokenType !== "PKI") invalid("tokenType", 'must be "OIDC" or "PKI"');
  const pkiRootFingerprint = resolvePkiRoot(options, tokenType);
  if (tokenType === "PKI" && options.jwksUri !== undefined) invalid("jwksUri", 'is not used with tokenType "PKI"');
  if (options.jwksUri !== undefined) fetchable(options.jwksUri, "jwksUri");
  const clock = orDefault(options.clock, Date.now);
  if (typeof clock !== "function" && !(isJsonObject(clock) && typeof clock.now === "function")) {
    invalid("clock", "must be a function returning ms or an object with now()");
  }
  const read = typeof clock === "function" ? clock : () => clock.now();
  // A clock that answers NaN would pass every time check (comparisons with NaN are false).
  const now = () => {
    const ms = read();
    if (!Number.isFinite(ms)) {
      throw new AttestationVerifierOptionError("clock", "options.clock must return a finite number of ms");
    }
    return ms;
  };
  const fetchImpl = orDefault(options.fetch, globalThis.fetch);
  if (typeof fetchImpl !== "function") invalid("fetch", "must be a function (no global fetch found)");
  return {
    audience,
    issuer,
    tokenType,
    pkiRootFingerprint,
    jwksUri: options.jwksUri,
    policy: resolvePolicy(options.policy, audience),
    requireNonce: bool(options.requireNonce, false, "requireNonce"),
    clockToleranceMs: duration(options.clockToleranceMs, 30_000, "clockToleranceMs"),
    maxTokenAgeMs: duration(options.maxTokenAgeMs, 3_600_000, "maxTokenAgeMs"),
    maxTokenBytes: positive(options.maxTokenBytes, 32_768, "maxTokenBytes"),
    jwksCacheMaxAgeMs: duration(options.jwksCacheMaxAgeMs, 600_000, "jwksCacheMaxAgeMs"),
    jwksCooldownMs: duration(options.jwksCooldownMs, 30_000, "jwksCooldownMs"),
    maxStaleMs: duration(options.maxStaleMs, 86_400_000, "maxStaleMs"),
    httpTimeoutMs: positive(options.httpTimeoutMs, 5_000, "httpTimeoutMs"),
    maxResponseBytes: positive(options.maxResponseBytes, 65_536, "maxResponseBytes"),
    now,
    fetch: fetchImpl,
  };
}

function fetchable(value: unknown, option: string): void {
  const problem = fetchableUrlProblem(value);
  if (problem !== undefined) invalid(option, problem);
}
