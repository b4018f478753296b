import { access, constants } from "node:fs/promises";
// Types only: the SDK is imported when an AzureUpstream is built (upstreams.azure configured).
import type { AccessToken, TokenCredential } from "@azure/identity";
import { type Clock, systemClock, TokenCache, TokenUnavailableError } from "@confspace/core";
import type { AzureTenantConfig } from "../config-types.js";
import { BrokerConfigError } from "../errors.js";
import type { BrokerMetrics } from "../metrics.js";
import { readCaFile } from "./ca-file.js";
import { UpstreamUnavailableError } from "./upstream-error.js";

/** Options of {@link AzureUpstream}. */
export interface AzureUpstreamOptions {
  /** Entra applications by name (`upstreams.azure`). */
  tenants: Readonly<Record<string, AzureTenantConfig>>;
  /** Where `clientSecretEnv` variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Time for one upstream call, ms. Default 10 000. */
  timeoutMs?: number;
  /** Start refreshing a cached token this long before it expires, ms (Entra's `refresh_in` wins). Default 300 000. */
  refreshWindowMs?: number;
  /** Clock. Default {@link systemClock}. */
  clock?: Clock;
  /** Where upstream calls and cache lookups are counted. Default: not counted. */
  metrics?: BrokerMetrics;
  /** Builds a credential (tests; no SDK import then). Default: `ClientSecretCredential` / `ClientCertificateCredential` of `@azure/identity`, imported on construction. */
  credentialFactory?: (tenant: AzureTenantConfig, secret: string | undefined, ca?: string[]) => TokenCredential;
}

/** An Azure access token as the broker hands it out. */
export interface AzureToken {
  /** The access token. Never logged. */
  token: string;
  /** Expiry, ms since the epoch (the upstream's). */
  expiresOnTimestamp: number;
  /** When the broker's cache starts refreshing this token, ms since the epoch. */
  refreshAt: number;
}

interface Key {
  tenant: string;
  scope: string;
}

const SKEW_MS = 30_000;

/**
 * Azure access tokens for the broker's Entra applications, one `TokenCache` entry per
 * (tenant, scope): concurrent and repeated workload requests share one upstream call and
 * one token until it is refreshed (ahead of expiry, or at Entra's `refresh_in`). The
 * client id is fixed per tenant entry, so (tenant, scope) identifies the credential.
 */
export class AzureUpstream {
  /** By tenant name; resolves once `@azure/identity` is imported (at once with `credentialFactory`). */
  readonly #credentials: Promise<ReadonlyMap<string, TokenCredential>>;
  readonly #tenants: Readonly<Record<string, AzureTenantConfig>>;
  readonly #cache: TokenCache<Key, AzureToken>;
  readonly #clock: Clock;
  readonly #metrics: BrokerMetrics | undefined;

  /**
   * Builds one credential per tenant entry. Secrets are read from the environment now.
   *
   * @throws {BrokerConfigError} a `clientSecretEnv` variable is unset or empty, or a `caFile` is unreadable.
   */
  constructor(options: AzureUpstreamOptions) {
    const env = options.env ?? process.env;
    this.#tenants = options.tenants;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics;
    const inputs: Array<[name: string, tenant: AzureTenantConfig, secret: string | undefined, ca?: string[]]> = [];
    for (const [name, tenant] of Object.entries(options.tenants)) {
      let secret: string | undefined;
      if (tenant.clientSecretEnv !== undefined) {
        secret = env[tenant.clientSecretEnv];
        if (secret === undefined || secret === "") {
          throw new BrokerConfigError(`environment variable ${tenant.clientSecretEnv} is not set`, {
            field: `upstreams.azure.${name}.clientSecretEnv`,
          });
        }
      }
      const ca = tenant.caFile === undefined ? undefined : readCaFile(tenant.caFile, `upstreams.azure.${name}.caFile`);
      inputs.push([name, tenant, secret, ca]);
    }
    const build = (factory: NonNullable<AzureUpstreamOptions["credentialFactory"]>) =>
      new Map(inputs.map(([name, tenant, secret, ca]) => [name, factory(tenant, secret, ca)] as const));
    const factory = options.credentialFactory;
    this.#credentials =
      factory !== undefined
        ? Promise.resolve(build(factory))
        : import("@azure/identity").then((sdk) => build((...args) => createCredential(sdk, ...args)));
    // A failed import surfaces in each token fetch (UpstreamUnavailableError), not as an unhandled rejection.
    this.#credentials.catch(() => {});
    const timeoutMs = options.timeoutMs ?? 10_000;
    const windowMs = options.refreshWindowMs ?? 300_000;
    this.#cache = new TokenCache<Key, AzureToken>({
      name: "Azure access token",
      keyId: (key) => `${key.tenant}\n${key.scope}`,
      clock: this.#clock,
      refreshWindowMs: windowMs,
      expirySkewMs: SKEW_MS,
      fetch: (key, { signal }) => this.#fetch(key, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), windowMs),
    });
  }

  /**
   * Checks that every `clientCertificateFile` can be read (at startup, so a typo fails fast).
   *
   * @throws {BrokerConfigError} naming the field of the unreadable file.
   */
  async checkFiles(): Promise<void> {
    for (const [name, tenant] of Object.entries(this.#tenants)) {
      if (tenant.clientCertificateFile === undefined) continue;
      try {
        await access(tenant.clientCertificateFile, constants.R_OK);
      } catch (error) {
        throw new BrokerConfigError("the certificate file cannot be read", {
          field: `upstreams.azure.${name}.clientCertificateFile`,
          cause: error,
        });
      }
    }
  }

  /**
   * A valid token for `scope` from the application `tenant`, cached.
   *
   * @throws {UpstreamUnavailableError} Entra failed or the cache is backing off after a failure.
   */
  async getToken(tenant: string, scope: string, signal?: AbortSignal): Promise<AzureToken> {
    const key = { tenant, scope };
    const cached = this.#cache.peek(key);
    this.#metrics?.upstreamCache.inc({ provider: "azure", result: cached === undefined ? "miss" : "hit" });
    try {
      return await this.#cache.get(key, signal === undefined ? undefined : { signal });
    } catch (error) {
      if (error instanceof UpstreamUnavailableError) throw error;
      const retryAfterMs = error instanceof TokenUnavailableError ? error.retryAfterMs : undefined;
      throw new UpstreamUnavailableError("Microsoft Entra did not issue a token; retry later", {
        provider: "azure",
        cause: error,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
  }

  /** Cancels refreshes and rejects waiting callers. */
  dispose(): void {
    this.#cache.dispose();
  }

  async #fetch(key: Key, signal: AbortSignal, windowMs: number) {
    const started = performance.now();
    let token: AccessToken | null;
    try {
      const credential = (await this.#credentials).get(key.tenant);
      if (credential === undefined) throw new TypeError(`no Azure tenant named ${key.tenant}`);
      token = await credential.getToken(key.scope, { abortSignal: signal });
      if (token === null) throw new Error("the credential returned no token");
    } catch (error) {
      this.#metrics?.observeUpstream("azure", "error", (performance.now() - started) / 1000);
      throw new UpstreamUnavailableError("Microsoft Entra did not issue a token; retry later", {
        provider: "azure",
        cause: error,
      });
    }
    this.#metrics?.observeUpstream("azure", "ok", (performance.now() - started) / 1000);
    const now = this.#clock.now();
    const expiresAt = token.expiresOnTimestamp;
    // The same plan TokenCache applies: Entra's refresh hint, else the window (at most half the lifetime).
    const refreshAt = Math.min(
      token.refreshAfterTimestamp ?? expiresAt - Math.min(windowMs, (expiresAt - now) / 2),
      expiresAt - Math.min(SKEW_MS, (expiresAt - now) / 10),
    );
    return {
      value: { token: token.token, expiresOnTimestamp: expiresAt, refreshAt },
      expiresAt,
      ...(token.refreshAfterTimestamp === undefined ? {} : { refreshAfter: token.refreshAfterTimestamp }),
    };
  }
}

function createCredential(
  sdk: typeof import("@azure/identity"),
  tenant: AzureTenantConfig,
  secret: string | undefined,
  ca?: string[],
): TokenCredential {
  const options = {
    // The pipeline's TLS settings reach MSAL's token requests too (it sends them through the pipeline).
    ...(ca === undefined ? {} : { tlsOptions: { ca } }),
    // Bounded: the workload retries on 503 with Retry-After, and TokenCache backs off per key.
    retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 },
    ...(tenant.authorityHost === undefined
      ? {}
      : { authorityHost: tenant.authorityHost, disableInstanceDiscovery: true }),
  };
  if (secret !== undefined) return new sdk.ClientSecretCredential(tenant.tenantId, tenant.clientId, secret, options);
  return new sdk.ClientCertificateCredential(
    tenant.tenantId,
    tenant.clientId,
    { certificatePath: tenant.clientCertificateFile! },
    { ...options, sendCertificateChain: tenant.sendCertificateChain === true },
  );
}

/**
 * `refresh_in` for a workload: come back just after the broker's own refresh of the
 * shared token (so the next request gets the new token), or soon if that refresh is
 * already due. Always well before expiry. Seconds, at least 1.
 */
export function refreshInSeconds(token: AzureToken, now: number): number {
  const remaining = token.expiresOnTimestamp - now;
  if (now < token.refreshAt) {
    const margin = Math.min(30_000, (token.expiresOnTimestamp - token.refreshAt) / 4);
    return Math.max(1, Math.floor((token.refreshAt - now + margin) / 1000));
  }
  return Math.max(1, Math.floor(Math.min(60_000, remaining / 4) / 1000));
}
