import { ConfspaceError } from "../errors.js";
import type { Expiring } from "../token-cache.js";

/** Per-key state of a TokenCache. */
export interface CacheEntry<V> {
  readonly id: string;
  /** Last good value (may have expired). */
  current?: Expiring<V>;
  /** The value is served while now < usableUntil. */
  usableUntil: number;
  /** A background refresh is due from this time on. */
  refreshAt: number;
  inflight?: { promise: Promise<Expiring<V>>; controller: AbortController };
  timer?: unknown;
  /** Consecutive failed fetches. */
  failures: number;
  lastError?: unknown;
  /** No new upstream call before this time (backoff). */
  retryAt: number;
}

/**
 * When a freshly fetched value stops being served and when its background refresh
 * is due. Margins shrink for short-lived values so a 60-second token is still usable:
 * skew at most a tenth of the lifetime, refresh window at most half of it.
 *
 * A value whose `expiresAt` is not after `now` arrives expired and is refused. The
 * upstream's `refreshAfter` replaces the window only while it lies strictly between
 * now and the serving cutoff: a hint at or past the cutoff would leave no time to
 * refresh ahead (callers would wait for the upstream), and a hint that is not in the
 * future would refresh again at once, in a loop. Either falls back to the window.
 */
export function expiryPlan(
  result: Expiring<unknown>,
  now: number,
  windowMs: number,
  skewMs: number,
  name: string,
): { usableUntil: number; refreshAt: number } {
  if (!Number.isFinite(result?.expiresAt)) {
    throw new ConfspaceError("ERR_INVALID_EXPIRY", `The ${name} source returned no finite expiresAt.`);
  }
  const lifetime = result.expiresAt - now;
  if (lifetime <= 0) {
    throw new ConfspaceError("ERR_INVALID_EXPIRY", `The ${name} source returned a value that has already expired.`);
  }
  const usableUntil = result.expiresAt - Math.min(skewMs, lifetime / 10);
  const hint = result.refreshAfter ?? Number.NaN;
  if (hint > now && hint < usableUntil) return { usableUntil, refreshAt: hint };
  // A refresh window shorter than the skew refreshes at the cutoff, never after it.
  return { usableUntil, refreshAt: Math.min(result.expiresAt - Math.min(windowMs, lifetime / 2), usableUntil) };
}
