import { type AttestationTokenSource, LauncherClient, validateTokenRequest } from "@confspace/attestation";
import { type Clock, type Logger, noopLogger, redactingLogger, systemClock } from "@confspace/core";
import {
  positiveMs,
  resolveAddress,
  resolveAudience,
  resolveMount,
  resolveNamespace,
  resolveRole,
  resolveTls,
} from "./internal/options.js";
import { TokenLifecycle } from "./internal/token-lifecycle.js";
import { Transport } from "./internal/transport.js";
import { KvV2 } from "./kv-v2.js";
import type { VaultJwtClientOptions } from "./options.js";
import { Transit } from "./transit.js";

/** A request through {@link VaultJwtClient.request}. */
export interface VaultRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path below `/v1/`, e.g. `secret/data/app/config`. Segments are URL-encoded for you. */
  path: string;
  query?: Record<string, string>;
  /** JSON body. */
  body?: unknown;
  /** Statuses returned instead of thrown (e.g. `[404]`). */
  accept?: readonly number[];
  signal?: AbortSignal;
}

/** Vault's answer: the status and the parsed JSON (`undefined` for 204). */
export interface VaultResponse {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** What is known of the current Vault token — never the token itself. */
export interface VaultTokenInfo {
  /** When the lease ends, ms since the epoch (by this machine's clock, from when the request was sent). */
  expiresAt: number;
  /** When the client will renew or log in again, ms since the epoch. */
  refreshAt: number;
  /** What that refresh will do. */
  next: "renew" | "login";
  renewable: boolean;
  leaseSeconds: number;
  policies: readonly string[];
  tokenType: string;
  /** Renewals since the last login. */
  renewals: number;
  loggedInAt: number;
}

/**
 * A Vault / OpenBao client that logs in with the workload's attestation token (JWT auth)
 * and keeps a valid Vault token for as long as it runs: renewal with `renew-self` at about
 * two thirds of the lease, a fresh login before expiry when the token is not renewable or
 * its lease stops growing, one re-login after a 403, and during an outage the current token
 * until its real expiry while retrying with backoff. One lifecycle engine does all of it:
 * core's `TokenCache`, whose fetch decides between renewing and logging in.
 *
 * @example
 * ```ts
 * const vault = new VaultJwtClient({ address: "https://vault.example.com:8200", role: "tee-app", audience: "https://vault.example.com" });
 * const secret = await vault.kv().read("app/config");
 * const key = await vault.transit().decrypt("app-key", wrappedKey);
 * await vault.dispose({ revoke: true });
 * ```
 */
export class VaultJwtClient implements AsyncDisposable {
  /** Vault's address. */
  readonly address: string;
  /** The JWT auth mount path. */
  readonly mount: string;
  /** The role, or `undefined` for the mount's `default_role`. */
  readonly role: string | undefined;
  /** The namespace sent with every request, if any. */
  readonly namespace: string | undefined;
  /** A function returning a valid Vault token, for other Vault clients (see {@link VaultJwtClient.withToken} for 403 handling). */
  readonly tokenProvider: () => Promise<string>;

  readonly #transport: Transport;
  readonly #lifecycle: TokenLifecycle;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #revokeOnDispose: boolean;
  #disposed = false;

  constructor(options: VaultJwtClientOptions = {}) {
    const address = resolveAddress(options.address, options.allowInsecureHttp === true);
    this.address = address.href.replace(/\/$/, "");
    this.mount = resolveMount(options.mount);
    this.role = resolveRole(options.role);
    this.namespace = resolveNamespace(options.namespace);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger === undefined ? noopLogger : redactingLogger(options.logger);
    this.#revokeOnDispose = options.revokeOnDispose === true;
    this.#transport = new Transport({
      address,
      namespace: this.namespace,
      tls: resolveTls(options.tls),
      timeoutMs: positiveMs("requestTimeoutMs", options.requestTimeoutMs, 30_000),
      maxResponseBytes: positiveMs("maxResponseBytes", options.maxResponseBytes, 4 * 1024 * 1024),
    });
    let source: AttestationTokenSource;
    if (options.tokenSource !== undefined) {
      source = options.tokenSource;
    } else {
      const launcher =
        options.launcher instanceof LauncherClient
          ? options.launcher
          : new LauncherClient({ clock: options.clock, logger: options.logger, ...options.launcher });
      // Validated now (length, not the default audience), so a bad audience fails here, not at the first login.
      const { audience } = validateTokenRequest({ audience: resolveAudience(options.audience) });
      // A new token from the launcher for every login: nothing cached, nothing refreshed in the background.
      source = { getToken: ({ signal } = {}) => launcher.requestToken({ audience, signal }) };
    }
    this.#lifecycle = new TokenLifecycle({
      transport: this.#transport,
      source,
      mount: this.mount,
      role: this.role,
      clock: this.#clock,
      random: options.random ?? Math.random,
      logger: this.#logger,
      cooldownMs: positiveMs("reloginCooldownMs", options.reloginCooldownMs, 10_000, true),
      minJwtMs: positiveMs("minAttestationTokenLifetimeMs", options.minAttestationTokenLifetimeMs, 10_000, true),
      expirySkewMs: positiveMs("expirySkewMs", options.expirySkewMs, 5_000, true),
      retry: options.retry,
    });
    this.tokenProvider = () => this.token();
  }

  /** A valid Vault token: cached, renewed or obtained by login as needed. */
  token(options?: { signal?: AbortSignal; forceRefresh?: boolean }): Promise<string> {
    return this.#lifecycle.token(options);
  }

  /** What is known of the current token (no token value), or `undefined` before the first login. */
  tokenInfo(): VaultTokenInfo | undefined {
    const s = this.#lifecycle.session;
    if (s === undefined) return undefined;
    return {
      expiresAt: s.expiresAt,
      refreshAt: s.refreshAt,
      next: s.next,
      renewable: s.renewable,
      leaseSeconds: Math.round(s.leaseMs / 1000),
      policies: s.policies,
      tokenType: s.tokenType,
      renewals: s.renewals,
      loggedInAt: s.loggedInAt,
    };
  }

  /**
   * Runs `fn` with a valid token — for other Vault clients such as node-vault. If `fn`
   * fails with a 403 (`status`, `statusCode` or `response.statusCode`/`response.status`),
   * logs in again once (see `reloginCooldownMs`) and calls `fn` once more with the new token.
   */
  async withToken<T>(fn: (token: string) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T> {
    const token = await this.token(options);
    try {
      return await fn(token);
    } catch (error) {
      if (!isForbidden(error)) throw error;
      const fresh = await this.#lifecycle.afterForbidden(token, options?.signal);
      if (fresh === undefined) throw error;
      return await fn(fresh);
    }
  }

  /** An authenticated request to Vault; throws {@link VaultError} and subclasses, with one re-login after a 403. */
  request(request: VaultRequest): Promise<VaultResponse> {
    const path = request.path
      .replace(/^\/+/, "")
      .split("/")
      .map((segment) => encodeURIComponent(segment))
      .join("/");
    return this.withToken((token) => this.#transport.send({ ...request, path, token }), { signal: request.signal });
  }

  /** KV version 2 helpers on `mount` (default `"secret"`). */
  kv(mount = "secret"): KvV2 {
    return new KvV2(this, mount);
  }

  /** Transit helpers on `mount` (default `"transit"`). */
  transit(mount = "transit"): Transit {
    return new Transit(this, mount);
  }

  /**
   * Stops renewals and closes connections. With `revoke` (default: the `revokeOnDispose`
   * option) the current token is revoked with `auth/token/revoke-self` first; if that
   * fails, everything is still stopped and the promise rejects with Vault's error.
   */
  async dispose(options?: { revoke?: boolean }): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const session = this.#lifecycle.dispose();
    try {
      const revoke = options?.revoke ?? this.#revokeOnDispose;
      if (revoke && session !== undefined && session.tokenType !== "batch" && this.#clock.now() < session.expiresAt) {
        await this.#transport.send({ method: "POST", path: "auth/token/revoke-self", token: session.token });
        this.#logger.info("vault token revoked", { mount: this.mount });
      }
    } finally {
      this.#transport.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** Whether an error from any HTTP client is a 403. */
export function isForbidden(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { status?: unknown; statusCode?: unknown; response?: { status?: unknown; statusCode?: unknown } };
  return e.status === 403 || e.statusCode === 403 || e.response?.statusCode === 403 || e.response?.status === 403;
}
