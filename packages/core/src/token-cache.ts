import { type Clock, systemClock } from "./clock.js";
import { ConfspaceError, InvalidOptionError, TokenUnavailableError } from "./errors.js";
import { backoffDelay } from "./internal/backoff.js";
import { type CacheEntry, expiryPlan } from "./internal/cache-entry.js";

/** A value with the time it stops being valid. */
export interface Expiring<V> {
  value: V;
  /** When the value expires, in ms since the epoch. Must be a finite number. */
  expiresAt: number;
  /**
   * Upstream hint for when to refresh, in ms since the epoch (Azure's
   * `refreshAfterTimestamp`, Entra's `refresh_in`). Overrides the refresh window when it
   * lies after now and before the value stops being served (expiry minus skew); a hint
   * outside that range is ignored and the window applies, so the refresh still happens
   * ahead of the cutoff and never in a loop.
   */
  refreshAfter?: number;
}

/** Why the engine called `fetch`. */
export type RefreshReason = "cold" | "expired" | "ahead" | "forced" | "retry";

/** What `fetch` receives besides the key. */
export interface FetchContext {
  /** Aborted when the cache is disposed or the key deleted. */
  signal: AbortSignal;
  reason: RefreshReason;
}

/** Lifecycle events, for logging and metrics. They never carry a value. */
export type TokenCacheEvent =
  | { type: "refresh-start"; cache: string; key: string; reason: RefreshReason }
  | {
      type: "refresh-success";
      cache: string;
      key: string;
      reason: RefreshReason;
      durationMs: number;
      expiresAt: number;
      refreshAt: number;
    }
  | {
      type: "refresh-failure";
      cache: string;
      key: string;
      reason: RefreshReason;
      durationMs: number;
      error: unknown;
      attempt: number;
      retryInMs: number;
    };

/** Options of {@link TokenCache}. */
export interface TokenCacheOptions<K, V> {
  /** Obtains a fresh value for `key`. Called at most once at a time per key. */
  fetch: (key: K, context: FetchContext) => Promise<Expiring<V>>;
  /** Identifies a key. Default: strings as they are, anything else `JSON.stringify`. */
  keyId?: (key: K) => string;
  /** Start a background refresh this long before expiry, in ms. Default 300 000 (5 min), capped at half the value's lifetime. */
  refreshWindowMs?: number;
  /** Stop serving a value this long before its expiry, in ms. Default 30 000, capped at a tenth of its lifetime. */
  expirySkewMs?: number;
  /** Backoff after a failed fetch, per key. Defaults: first 1 000 ms, doubling, at most 60 000 ms; half of each delay is random. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Time and timers. Default {@link systemClock}. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Receives lifecycle events; exceptions it throws are ignored. */
  onEvent?: (event: TokenCacheEvent) => void;
  /** Name used in events and error messages. Default `"token"`. */
  name?: string;
}

/** Options of {@link TokenCache.get}. */
export interface GetOptions {
  /** Fetch a new value even if the cached one is valid (after a 401 or a claims challenge). Joins a refresh already in flight. */
  forceRefresh?: boolean;
  /** Abandons this caller's wait; a shared upstream call continues for the others. */
  signal?: AbortSignal;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const stringKey = (key: unknown) => (typeof key === "string" ? key : JSON.stringify(key));

/**
 * A keyed cache of expiring values that keeps them fresh: one upstream call per key
 * at a time (single flight), a background refresh ahead of expiry while the cached
 * value is still served, per-key exponential backoff with jitter after failures, and
 * never an expired value.
 *
 * Errors: a caller that waited for a fetch gets that fetch's error as thrown; a caller
 * that arrives while the key is backing off, with no valid value, gets
 * {@link TokenUnavailableError} carrying the last error as `cause`. After
 * {@link TokenCache.dispose}, calls reject with code `ERR_DISPOSED`.
 *
 * @example
 * ```ts
 * const cache = new TokenCache<string, string>({
 *   fetch: async (scope) => {
 *     const { token, expiresInSeconds } = await exchange(scope);
 *     return { value: token, expiresAt: Date.now() + expiresInSeconds * 1000 };
 *   },
 * });
 * const token = await cache.get("https://storage.azure.com/.default");
 * ```
 */
export class TokenCache<K, V> {
  readonly #fetch: TokenCacheOptions<K, V>["fetch"];
  readonly #keyId: (key: K) => string;
  readonly #windowMs: number;
  readonly #skewMs: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onEvent: ((event: TokenCacheEvent) => void) | undefined;
  readonly #name: string;
  readonly #entries = new Map<string, CacheEntry<V>>();
  readonly #disposal = Promise.withResolvers<never>();
  #disposed = false;

  constructor(options: TokenCacheOptions<K, V>) {
    this.#fetch = options.fetch;
    this.#keyId = options.keyId ?? stringKey;
    this.#windowMs = nonNegative(options.refreshWindowMs ?? 300_000, "refreshWindowMs");
    this.#skewMs = nonNegative(options.expirySkewMs ?? 30_000, "expirySkewMs");
    this.#retryInitialMs = nonNegative(options.retry?.initialDelayMs ?? 1_000, "retry.initialDelayMs");
    this.#retryMaxMs = nonNegative(options.retry?.maxDelayMs ?? 60_000, "retry.maxDelayMs");
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onEvent = options.onEvent;
    this.#name = options.name ?? "token";
    this.#disposal.promise.catch(() => {});
  }

  /** Returns a valid value for `key`, fetching or refreshing it as needed. */
  get(key: K, options?: GetOptions): Promise<V> {
    if (this.#disposed) return Promise.reject(disposedError(this.#name));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#keyId(key);
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = { id, failures: 0, retryAt: 0, refreshAt: 0, usableUntil: 0 };
      this.#entries.set(id, entry);
    }
    const now = this.#clock.now();
    // usableUntil stays 0 until a value arrives, so this also means "there is a value".
    const usable = now < entry.usableUntil;

    if (options?.forceRefresh !== true && usable) {
      if (now >= entry.refreshAt && entry.inflight === undefined && now >= entry.retryAt) {
        this.#start(entry, key, "ahead");
      }
      return Promise.resolve(entry.current!.value);
    }
    if (entry.inflight !== undefined) return this.#wait(entry.inflight.promise, signal);
    // retryAt is set only by a failure and reset by a success: lastError is always set here.
    if (now < entry.retryAt) {
      const retryAfterMs = entry.retryAt - now;
      return Promise.reject(
        new TokenUnavailableError(
          `No valid ${this.#name} is available: the last refresh failed; the next attempt is allowed in ${retryAfterMs} ms.`,
          { cause: entry.lastError, retryAfterMs },
        ),
      );
    }
    const reason = options?.forceRefresh === true ? "forced" : entry.current === undefined ? "cold" : "expired";
    return this.#wait(this.#start(entry, key, reason), signal);
  }

  /** The cached value if it is still valid, without fetching or refreshing anything. */
  peek(key: K): V | undefined {
    const entry = this.#entries.get(this.#keyId(key));
    return entry !== undefined && this.#clock.now() < entry.usableUntil ? entry.current!.value : undefined;
  }

  /** Forgets `key`: drops its value, backoff state and timer, and aborts its fetch signal. Callers already waiting still settle. */
  delete(key: K): void {
    const entry = this.#entries.get(this.#keyId(key));
    if (entry === undefined) return;
    this.#entries.delete(entry.id);
    this.#clearTimer(entry);
    entry.inflight?.controller.abort(new ConfspaceError("ERR_DELETED", `The cached ${this.#name} was deleted.`));
  }

  /** Cancels every timer, aborts fetches in flight, rejects waiting callers and refuses new calls. Idempotent. */
  dispose(): void {
    // A second call finds no entries and rejects an already rejected promise: nothing happens.
    this.#disposed = true;
    const error = disposedError(this.#name);
    for (const entry of this.#entries.values()) {
      this.#clearTimer(entry);
      entry.inflight?.controller.abort(error);
    }
    this.#entries.clear();
    this.#disposal.reject(error);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #start(entry: CacheEntry<V>, key: K, reason: RefreshReason): Promise<Expiring<V>> {
    this.#clearTimer(entry);
    const controller = new AbortController();
    const startedAt = this.#clock.now();
    this.#emit({ type: "refresh-start", cache: this.#name, key: entry.id, reason });
    const promise = Promise.resolve()
      .then(() => this.#fetch(key, { signal: controller.signal, reason }))
      .then((result) => {
        const now = this.#clock.now();
        const plan = expiryPlan(result, now, this.#windowMs, this.#skewMs, this.#name);
        if (this.#owns(entry)) {
          entry.inflight = undefined;
          entry.current = result;
          entry.usableUntil = plan.usableUntil;
          entry.refreshAt = plan.refreshAt;
          entry.failures = 0;
          entry.lastError = undefined;
          entry.retryAt = 0;
          this.#schedule(entry, key, plan.refreshAt, "ahead");
        }
        this.#emit({
          type: "refresh-success",
          cache: this.#name,
          key: entry.id,
          reason,
          durationMs: now - startedAt,
          expiresAt: result.expiresAt,
          refreshAt: plan.refreshAt,
        });
        return result;
      })
      .catch((error: unknown) => {
        const now = this.#clock.now();
        let retryInMs = 0;
        if (this.#owns(entry)) {
          entry.inflight = undefined;
          entry.failures += 1;
          entry.lastError = error;
          retryInMs = backoffDelay(entry.failures, this.#retryInitialMs, this.#retryMaxMs, this.#random);
          entry.retryAt = now + retryInMs;
          // Keep retrying in the background only while there is a valid value to protect;
          // once it has expired, the next caller decides when to try again.
          if (entry.retryAt < entry.usableUntil) {
            this.#schedule(entry, key, entry.retryAt, "retry");
          }
        }
        this.#emit({
          type: "refresh-failure",
          cache: this.#name,
          key: entry.id,
          reason,
          durationMs: now - startedAt,
          error,
          attempt: entry.failures,
          retryInMs,
        });
        throw error;
      });
    // Background refreshes have no caller; their failure is recorded above, not thrown.
    promise.catch(() => {});
    entry.inflight = { promise, controller };
    return promise;
  }

  // At most one timer per key: #start clears it, and only a settled fetch or the timer itself
  // schedules the next one, when none is pending.
  #schedule(entry: CacheEntry<V>, key: K, at: number, reason: RefreshReason): void {
    const delay = Math.min(Math.max(at - this.#clock.now(), 0), MAX_TIMER_MS);
    entry.timer = this.#clock.setTimeout(() => {
      entry.timer = undefined;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: defensive; delete, dispose and #start clear this timer first, so it never fires for a dropped entry or during a fetch.
      if (this.#entries.get(entry.id) !== entry || entry.inflight !== undefined) return;
      if (this.#clock.now() < at) this.#schedule(entry, key, at, reason);
      else this.#start(entry, key, reason);
    }, delay);
  }

  #clearTimer(entry: CacheEntry<V>): void {
    // Stryker disable next-line ConditionalExpression: clearing an absent timer is harmless; the check only saves a call.
    if (entry.timer !== undefined) {
      this.#clock.clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /**
   * Whether a settling fetch still belongs to a live entry. dispose() clears every entry and
   * delete() removes one, and an entry has one fetch at a time, so the entry's presence says it all.
   */
  #owns(entry: CacheEntry<V>): boolean {
    return this.#entries.get(entry.id) === entry;
  }

  #wait(promise: Promise<Expiring<V>>, signal: AbortSignal | undefined): Promise<V> {
    const value = promise.then((result) => result.value);
    if (signal === undefined) return Promise.race([value, this.#disposal.promise]);
    const aborted = Promise.withResolvers<never>();
    const onAbort = () => aborted.reject(signal.reason);
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: the listener is removed in finally either way.
    signal.addEventListener("abort", onAbort, { once: true });
    return Promise.race([value, this.#disposal.promise, aborted.promise]).finally(() =>
      signal.removeEventListener("abort", onAbort),
    );
  }

  #emit(event: TokenCacheEvent): void {
    // Stryker disable next-line ConditionalExpression: without a listener the call below throws and is swallowed; the check only saves that.
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent(event);
    } catch {
      // A faulty listener must not break credential delivery.
    }
  }
}

function disposedError(name: string): ConfspaceError {
  return new ConfspaceError("ERR_DISPOSED", `The ${name} cache has been disposed; create a new credential.`);
}

function nonNegative(value: number, option: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(option, `TokenCache option ${option} must be a non-negative number of ms.`);
  }
  return value;
}
