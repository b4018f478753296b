import {
  type AttestationTokenSource,
  decodeClaims,
  LauncherClient,
  validateTokenRequest,
} from "@confspace/attestation";
import {
  type Clock,
  ConfspaceError,
  type Logger,
  noopLogger,
  redactingLogger,
  systemClock,
  TokenCache,
  type TokenCacheEvent,
} from "@confspace/core";
import {
  AttestationTokenExpiredError,
  VaultError,
  VaultLoginError,
  VaultResponseError,
  VaultUnavailableError,
} from "./errors.js";
import { type AuthBlock, afterLogin, afterRenewal, type Session } from "./internal/lease-plan.js";
import {
  positiveMs,
  resolveAddress,
  resolveAudience,
  resolveMount,
  resolveNamespace,
  resolveRole,
  resolveTls,
} from "./internal/options.js";
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

const KEY = "vault";

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
  readonly #tokens: TokenCache<string, string>;
  readonly #source: AttestationTokenSource;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #cooldownMs: number;
  readonly #minJwtMs: number;
  readonly #revokeOnDispose: boolean;
  #session: Session | undefined;
  #disposed = false;

  constructor(options: VaultJwtClientOptions = {}) {
    const address = resolveAddress(options.address, options.allowInsecureHttp === true);
    this.address = address.href.replace(/\/$/, "");
    this.mount = resolveMount(options.mount);
    this.role = resolveRole(options.role);
    this.namespace = resolveNamespace(options.namespace);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger === undefined ? noopLogger : redactingLogger(options.logger);
    this.#cooldownMs = positiveMs("reloginCooldownMs", options.reloginCooldownMs, 10_000, true);
    this.#minJwtMs = positiveMs("minAttestationTokenLifetimeMs", options.minAttestationTokenLifetimeMs, 10_000, true);
    this.#revokeOnDispose = options.revokeOnDispose === true;
    this.#transport = new Transport({
      address,
      namespace: this.namespace,
      tls: resolveTls(options.tls),
      timeoutMs: positiveMs("requestTimeoutMs", options.requestTimeoutMs, 30_000),
      maxResponseBytes: positiveMs("maxResponseBytes", options.maxResponseBytes, 4 * 1024 * 1024),
    });
    if (options.tokenSource !== undefined) {
      this.#source = options.tokenSource;
    } else {
      const launcher =
        options.launcher instanceof LauncherClient
          ? options.launcher
          : new LauncherClient({ clock: options.clock, logger: options.logger, ...options.launcher });
      // Validated now (length, not the default audience), so a bad audience fails here, not at the first login.
      const { audience } = validateTokenRequest({ audience: resolveAudience(options.audience) });
      // A new token from the launcher for every login: nothing cached, nothing refreshed in the background.
      this.#source = { getToken: ({ signal } = {}) => launcher.requestToken({ audience, signal }) };
    }
    this.#tokens = new TokenCache<string, string>({
      name: "Vault token",
      clock: this.#clock,
      random: this.#random,
      expirySkewMs: positiveMs("expirySkewMs", options.expirySkewMs, 5_000, true),
      retry: options.retry,
      fetch: (_key, { signal, reason }) => this.#refresh(reason === "forced", signal),
      onEvent: (event) => this.#onEvent(event),
    });
    this.tokenProvider = () => this.token();
  }

  /** A valid Vault token: cached, renewed or obtained by login as needed. */
  token(options?: { signal?: AbortSignal; forceRefresh?: boolean }): Promise<string> {
    return this.#tokens.get(KEY, options);
  }

  /** What is known of the current token (no token value), or `undefined` before the first login. */
  tokenInfo(): VaultTokenInfo | undefined {
    const s = this.#session;
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
      const fresh = await this.#afterForbidden(token, options?.signal);
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
    const session = this.#session;
    this.#tokens.dispose();
    try {
      const revoke = options?.revoke ?? this.#revokeOnDispose;
      if (revoke && session !== undefined && session.tokenType !== "batch" && this.#clock.now() < session.expiresAt) {
        await this.#transport.send({ method: "POST", path: "auth/token/revoke-self", token: session.token });
        this.#logger.info("vault token revoked", { mount: this.mount });
      }
    } finally {
      this.#session = undefined;
      this.#transport.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** The engine's fetch: renew when that still extends the token, otherwise log in. */
  async #refresh(forced: boolean, signal: AbortSignal) {
    const current = this.#session;
    if (current !== undefined && !forced && current.next === "renew" && this.#clock.now() < current.expiresAt) {
      try {
        return this.#commit(await this.#renew(current, signal));
      } catch (error) {
        // No answer, or Vault not serving (sealed, standby, rate limited): keep the current
        // token and retry with backoff. Any other failure refuses this renewal — a revoked
        // token (403), or Vault's 500 "past the max TTL, cannot renew" when the second-truncated
        // max TTL ends before the lease would — so log in again right away, as Vault Agent does.
        if (!(error instanceof VaultError) || isOutage(error)) throw error;
        this.#logger.warn("vault refused to renew the token; logging in again", {
          status: error.status,
          errors: error.errors,
        });
      }
    }
    return this.#commit(await this.#login(signal));
  }

  #commit(session: Session) {
    this.#session = session;
    return { value: session.token, expiresAt: session.expiresAt, refreshAfter: session.refreshAt };
  }

  async #renew(current: Session, signal: AbortSignal): Promise<Session> {
    const startedAt = this.#clock.now();
    const { body } = await this.#transport.send({
      method: "POST",
      path: "auth/token/renew-self",
      token: current.token,
      signal,
    });
    const session = afterRenewal(current, authBlock(body, "POST", "auth/token/renew-self"), startedAt, this.#random);
    this.#logger.debug("vault token renewed", {
      leaseSeconds: session.leaseMs / 1000,
      next: session.next,
      reason: session.reason,
    });
    return session;
  }

  async #login(signal: AbortSignal): Promise<Session> {
    const jwt = await this.#source.getToken({ forceRefresh: true, signal });
    const exp = expiryOf(jwt);
    if (exp - this.#minJwtMs <= this.#clock.now()) {
      throw new AttestationTokenExpiredError(
        `The attestation token expires at ${new Date(exp).toISOString()}, too soon to send to Vault (less than ${this.#minJwtMs} ms left); it was not sent. Check the token source and this machine's clock.`,
        exp,
      );
    }
    const path = `auth/${this.mount}/login`;
    const startedAt = this.#clock.now();
    let body: Record<string, unknown> | undefined;
    try {
      ({ body } = await this.#transport.send({
        method: "POST",
        path,
        body: this.role === undefined ? { jwt } : { role: this.role, jwt },
        signal,
      }));
    } catch (error) {
      if (
        error instanceof VaultError &&
        !(error instanceof VaultUnavailableError) &&
        (error.status === 400 || error.status === 403)
      ) {
        throw new VaultLoginError(
          `Vault refused the JWT login to ${path}${this.role === undefined ? "" : ` (role ${this.role})`} with ${error.status}: check the role's bound_audiences, bound_claims and bound_subject, and the mount's issuer config. Vault's reason is in error.errors.`,
          {
            status: error.status,
            errors: error.errors,
            method: "POST",
            path,
            role: this.role,
            mount: this.mount,
            cause: error,
          },
        );
      }
      throw error;
    }
    const session = afterLogin(authBlock(body, "POST", path), startedAt, this.#random);
    this.#logger.info("vault login succeeded", {
      mount: this.mount,
      role: this.role,
      leaseSeconds: session.leaseMs / 1000,
      renewable: session.renewable,
      policies: session.policies,
    });
    return session;
  }

  async #afterForbidden(rejected: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const current = this.#session;
    const now = this.#clock.now();
    // Someone already logged in again: just use the new token.
    if (current !== undefined && current.token !== rejected && now < current.expiresAt) return current.token;
    // A token fresh from a login that is refused lacks a policy; another login cannot help.
    if (current !== undefined && current.token === rejected && now - current.loggedInAt < this.#cooldownMs)
      return undefined;
    this.#logger.warn("vault refused the token (403); logging in again once", { mount: this.mount });
    return this.#tokens.get(KEY, { forceRefresh: true, signal });
  }

  #onEvent(event: TokenCacheEvent): void {
    if (event.type !== "refresh-failure") return;
    const error = event.error;
    this.#logger.warn("vault token refresh failed", {
      reason: event.reason,
      attempt: event.attempt,
      retryInMs: event.retryInMs,
      code: error instanceof ConfspaceError ? error.code : undefined,
      status: error instanceof VaultError ? error.status : undefined,
      errors: error instanceof VaultError ? error.errors : undefined,
    });
  }
}

function authBlock(body: Record<string, unknown> | undefined, method: string, path: string): AuthBlock {
  const auth = body?.auth as Partial<AuthBlock> | undefined;
  if (
    auth === undefined ||
    auth === null ||
    typeof auth.client_token !== "string" ||
    auth.client_token === "" ||
    typeof auth.lease_duration !== "number" ||
    auth.lease_duration < 0
  ) {
    throw new VaultResponseError(
      `Vault's answer to ${method} ${path} has no usable auth block (client_token, lease_duration).`,
      {
        status: 200,
        method,
        path,
      },
    );
  }
  return { ...auth, renewable: auth.renewable === true } as AuthBlock;
}

function expiryOf(jwt: string): number {
  const exp = decodeClaims(jwt).exp;
  return typeof exp === "number" ? exp * 1000 : Number.NEGATIVE_INFINITY;
}

const OUTAGE_STATUS = new Set([0, 429, 502, 503, 504]);

function isOutage(error: VaultError): boolean {
  return error instanceof VaultUnavailableError && OUTAGE_STATUS.has(error.status);
}

/** Whether an error from any HTTP client is a 403. */
export function isForbidden(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { status?: unknown; statusCode?: unknown; response?: { status?: unknown; statusCode?: unknown } };
  return e.status === 403 || e.statusCode === 403 || e.response?.statusCode === 403 || e.response?.status === 403;
}
