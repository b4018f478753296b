// The one lifecycle engine of a Vault token: core's TokenCache (single flight, refresh
// ahead, backoff, never an expired value) whose fetch decides what a refresh is — a
// renew-self while that still extends the token, otherwise a login with a new attestation
// token — plus the 403 rule. The token stays in memory here and in the cache, nowhere else.
import { type AttestationTokenSource, decodeClaims } from "@confspace/attestation";
import { type Clock, ConfspaceError, type Logger, TokenCache, type TokenCacheEvent } from "@confspace/core";
import {
  AttestationTokenExpiredError,
  VaultError,
  VaultLoginError,
  VaultResponseError,
  VaultUnavailableError,
} from "../errors.js";
import { type AuthBlock, afterLogin, afterRenewal, type Session } from "./lease-plan.js";
import type { Transport } from "./transport.js";

export interface TokenLifecycleConfig {
  transport: Transport;
  source: AttestationTokenSource;
  mount: string;
  role: string | undefined;
  clock: Clock;
  random: () => number;
  logger: Logger;
  /** ms */
  cooldownMs: number;
  /** ms */
  minJwtMs: number;
  /** ms */
  expirySkewMs: number;
  retry: { initialDelayMs?: number; maxDelayMs?: number } | undefined;
}

const KEY = "vault";

export class TokenLifecycle {
  readonly #transport: Transport;
  readonly #source: AttestationTokenSource;
  readonly #mount: string;
  readonly #role: string | undefined;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #cooldownMs: number;
  readonly #minJwtMs: number;
  readonly #expirySkewMs: number;
  readonly #tokens: TokenCache<string, string>;
  #session: Session | undefined;

  constructor(config: TokenLifecycleConfig) {
    this.#transport = config.transport;
    this.#source = config.source;
    this.#mount = config.mount;
    this.#role = config.role;
    this.#clock = config.clock;
    this.#random = config.random;
    this.#logger = config.logger;
    this.#cooldownMs = config.cooldownMs;
    this.#minJwtMs = config.minJwtMs;
    this.#expirySkewMs = config.expirySkewMs;
    this.#tokens = new TokenCache<string, string>({
      name: "Vault token",
      clock: config.clock,
      random: config.random,
      expirySkewMs: config.expirySkewMs,
      retry: config.retry,
      fetch: (_key, { signal, reason }) => this.#refresh(reason === "forced", signal),
      onEvent: (event) => this.#onEvent(event),
    });
  }

  /** The current session (token and lease), if any. */
  get session(): Session | undefined {
    return this.#session;
  }

  token(options?: { signal?: AbortSignal; forceRefresh?: boolean }): Promise<string> {
    return this.#tokens.get(KEY, options);
  }

  /**
   * After a 403 with `rejected`: the token to retry with, or `undefined` when no login can
   * help (a token fresh from a login is refused: it lacks a policy).
   */
  async afterForbidden(rejected: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const current = this.#session;
    const now = this.#clock.now();
    // Someone already logged in again: just use the new token.
    if (current !== undefined && current.token !== rejected && now < current.expiresAt) return current.token;
    // A token this fresh that is refused lacks a policy: no login can fix that. Unless its
    // lease was about to end when it was sent: then it expired on the way (a slow request).
    const endingAt = current === undefined ? 0 : current.expiresAt - Math.min(this.#expirySkewMs, current.leaseMs / 10);
    if (
      current !== undefined &&
      current.token === rejected &&
      now - current.loggedInAt < this.#cooldownMs &&
      now < endingAt
    ) {
      return undefined;
    }
    this.#logger.warn("vault refused the token (403); logging in again once", { mount: this.#mount });
    return this.#tokens.get(KEY, { forceRefresh: true, signal });
  }

  /** Stops the engine; returns the last session so the caller may revoke it. */
  dispose(): Session | undefined {
    const session = this.#session;
    this.#tokens.dispose();
    this.#session = undefined;
    return session;
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
    const path = `auth/${this.#mount}/login`;
    const startedAt = this.#clock.now();
    let body: Record<string, unknown> | undefined;
    try {
      ({ body } = await this.#transport.send({
        method: "POST",
        path,
        body: this.#role === undefined ? { jwt } : { role: this.#role, jwt },
        signal,
      }));
    } catch (error) {
      if (
        error instanceof VaultError &&
        !(error instanceof VaultUnavailableError) &&
        (error.status === 400 || error.status === 403)
      ) {
        throw new VaultLoginError(
          `Vault refused the JWT login to ${path}${this.#role === undefined ? "" : ` (role ${this.#role})`} with ${error.status}: check the role's bound_audiences, bound_claims and bound_subject, and the mount's issuer config. Vault's reason is in error.errors.`,
          {
            status: error.status,
            errors: error.errors,
            method: "POST",
            path,
            role: this.#role,
            mount: this.#mount,
            cause: error,
          },
        );
      }
      throw error;
    }
    const session = afterLogin(authBlock(body, "POST", path), startedAt, this.#random);
    this.#logger.info("vault login succeeded", {
      mount: this.#mount,
      role: this.#role,
      leaseSeconds: session.leaseMs / 1000,
      renewable: session.renewable,
      policies: session.policies,
    });
    return session;
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
