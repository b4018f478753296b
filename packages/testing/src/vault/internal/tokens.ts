// Vault's token store as far as a JWT-issued token lives: issue on login, lookup-self,
// renew-self (framework.CalculateTTL against the token's issue time), revoke-self, and
// expiry on the injected clock.
import { randomBytes, randomUUID } from "node:crypto";
import { badRequest, invalidToken, VaultHttpError, vaultTime } from "./responses.js";

/** What a login hands to the token store (Vault's `logical.Auth` from the role). */
export interface AuthParams {
  /** Policies from the role, before "default" is added. */
  policies: string[];
  noDefaultPolicy: boolean;
  /** Seconds; 0 = unset. */
  ttl: number;
  maxTtl: number;
  explicitMaxTtl: number;
  period: number;
  numUses: number;
  tokenType: "service" | "batch";
  displayName: string;
  metadata: Record<string, string>;
  /** Auth mount path, e.g. `auth/jwt/`. */
  mountPath: string;
  /** Reloads the role's TTL settings at renewal (pathLoginRenew); throws when the role is gone. */
  renewParams: () => { ttl: number; maxTtl: number; period: number };
  namespace: string;
}

/** A token the local Vault issued. Tests may read these; the value itself is never logged. */
export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: string[];
  readonly type: "service" | "batch";
  readonly renewable: boolean;
  readonly namespace: string;
  /** ms since the epoch. */
  readonly issueTime: number;
  /** ms since the epoch. */
  expireTime: number;
  /** Seconds of the first lease. */
  readonly creationTtl: number;
  readonly explicitMaxTtl: number;
  readonly period: number;
  readonly params: AuthParams;
  revoked: boolean;
  lastRenewal?: number;
}

/** Mount tuning: Vault's system defaults are 768 h for both. */
export interface LeaseLimits {
  defaultLeaseTtl: number;
  maxLeaseTtl: number;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = "";
  for (const byte of bytes) {
    if (byte < 248) out += BASE62[byte % 62];
    if (out.length === length) break;
  }
  return out.padEnd(length, "0");
}

/**
 * framework.CalculateTTL (sdk/framework/lease.go), in seconds. Times are truncated to
 * the second as Vault does; throws Vault's error when the max TTL has passed.
 */
export function calculateTtl(
  limits: LeaseLimits,
  increment: number,
  backendTtl: number,
  period: number,
  backendMaxTtl: number,
  explicitMaxTtl: number,
  startMs: number,
  nowMs: number,
): { ttl: number; warnings: string[] } {
  const now = Math.floor(nowMs / 1000);
  const start = Math.floor(startMs / 1000);
  const warnings: string[] = [];
  let maxTtl = limits.maxLeaseTtl;
  if (backendMaxTtl > 0 && backendMaxTtl < maxTtl) maxTtl = backendMaxTtl;
  if (explicitMaxTtl > 0 && explicitMaxTtl < maxTtl) maxTtl = explicitMaxTtl;
  let ttl: number;
  let maxValidTime: number | undefined;
  if (period > 0) {
    if (period > maxTtl) {
      warnings.push(
        `period of "${human(period)}" exceeded the effective max_ttl of "${human(maxTtl)}"; period value is capped accordingly`,
      );
      period = maxTtl;
    }
    ttl = period;
    if (explicitMaxTtl > 0) maxValidTime = start + explicitMaxTtl;
  } else {
    ttl = increment > 0 ? increment : backendTtl > 0 ? backendTtl : limits.defaultLeaseTtl;
    maxValidTime = start + maxTtl;
  }
  if (maxValidTime !== undefined) {
    const maxValidTtl = maxValidTime - now;
    if (maxValidTtl <= 0) throw new VaultHttpError(500, ["past the max TTL, cannot renew"]);
    if (maxValidTtl - ttl < 0) {
      warnings.push(
        `TTL of "${human(ttl)}" exceeded the effective max_ttl of "${human(maxValidTtl)}"; TTL value is capped accordingly`,
      );
      ttl = maxValidTtl;
    }
  }
  return { ttl, warnings };
}

/** Go's Duration.String() without zero units, as humanDuration prints it. */
function human(seconds: number): string {
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith("m0s")) text = text.slice(0, -2);
  return text.replace(/h0m/, "h");
}

/** Tokens by id, on an injectable clock. */
export class TokenStore {
  readonly #tokens = new Map<string, TokenEntry>();

  constructor(
    readonly limits: LeaseLimits,
    private readonly now: () => number,
  ) {}

  get entries(): TokenEntry[] {
    return [...this.#tokens.values()];
  }

  /** Creates a token for a successful login; returns Vault's `auth` block. */
  issue(params: AuthParams): { entry: TokenEntry; auth: Record<string, unknown>; warnings: string[] } {
    const now = this.now();
    const { ttl, warnings } = calculateTtl(
      this.limits,
      0,
      params.ttl,
      params.period,
      params.maxTtl,
      params.explicitMaxTtl,
      now,
      now,
    );
    const policies = sanitizePolicies(params.policies, !params.noDefaultPolicy);
    const entry: TokenEntry = {
      id: `${params.tokenType === "batch" ? "hvb" : "hvs"}.${base62(params.tokenType === "batch" ? 120 : 90)}`,
      accessor: base62(24),
      policies,
      type: params.tokenType,
      renewable: params.tokenType !== "batch",
      namespace: params.namespace,
      issueTime: now,
      expireTime: now + ttl * 1000,
      creationTtl: ttl,
      explicitMaxTtl: params.explicitMaxTtl,
      period: params.period,
      params,
      revoked: false,
    };
    this.#tokens.set(entry.id, entry);
    return { entry, auth: this.#auth(entry, ttl), warnings };
  }

  /** The live token for `id` in `namespace`, or Vault's 403 for an unknown, revoked or expired one. */
  lookup(id: string | undefined, namespace: string): TokenEntry {
    const entry = id === undefined ? undefined : this.#tokens.get(id);
    if (entry === undefined || entry.revoked || entry.namespace !== namespace) throw invalidToken();
    if (this.now() >= entry.expireTime) {
      entry.revoked = true;
      throw invalidToken();
    }
    return entry;
  }

  /** `auth/token/lookup-self` data. */
  lookupData(entry: TokenEntry): Record<string, unknown> {
    const now = this.now();
    return {
      accessor: entry.accessor,
      creation_time: Math.floor(entry.issueTime / 1000),
      creation_ttl: entry.creationTtl,
      display_name: entry.params.displayName,
      entity_id: "",
      expire_time: vaultTime(entry.expireTime),
      explicit_max_ttl: entry.explicitMaxTtl,
      id: entry.id,
      issue_time: vaultTime(entry.issueTime),
      meta: entry.params.metadata,
      num_uses: entry.params.numUses,
      orphan: true,
      path: `${entry.params.mountPath}login`,
      policies: entry.policies,
      renewable: entry.renewable,
      ttl: Math.max(0, Math.round((entry.expireTime - Math.round(now / 1000) * 1000) / 1000)),
      type: entry.type,
      ...(entry.period > 0 ? { period: entry.period } : {}),
      ...(entry.lastRenewal === undefined ? {} : { last_renewal_time: Math.floor(entry.lastRenewal / 1000) }),
    };
  }

  /** `auth/token/renew-self`: re-reads the role, recomputes the TTL from the issue time. */
  renew(entry: TokenEntry, increment: number): { auth: Record<string, unknown>; warnings: string[] } {
    if (entry.type === "batch") throw badRequest("batch tokens cannot be renewed");
    if (!entry.renewable) throw badRequest("lease is not renewable");
    let role: { ttl: number; maxTtl: number; period: number };
    try {
      role = entry.params.renewParams();
    } catch (error) {
      throw new VaultHttpError(500, [
        `failed to renew entry: resp: (*logical.Response)(nil) err: ${(error as Error).message}`,
      ]);
    }
    const now = this.now();
    const { ttl, warnings } = calculateTtl(
      this.limits,
      increment,
      role.ttl,
      role.period,
      role.maxTtl,
      entry.explicitMaxTtl,
      entry.issueTime,
      now,
    );
    entry.expireTime = now + ttl * 1000;
    entry.lastRenewal = now;
    return { auth: this.#auth(entry, ttl), warnings };
  }

  revoke(entry: TokenEntry): void {
    entry.revoked = true;
  }

  #auth(entry: TokenEntry, ttl: number): Record<string, unknown> {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: entry.policies,
      token_policies: entry.policies,
      metadata: entry.params.metadata,
      lease_duration: ttl,
      renewable: entry.renewable,
      entity_id: randomUUID(),
      token_type: entry.type,
      orphan: true,
      mfa_requirement: null,
      num_uses: entry.params.numUses,
    };
  }
}

/** policyutil.SanitizePolicies: trimmed, lower-case, "default" added unless told not to (or root), deduplicated, sorted. */
export function sanitizePolicies(policies: string[], addDefault: boolean): string[] {
  const set = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ""));
  if (addDefault && !set.has("root")) set.add("default");
  return [...set].sort();
}
