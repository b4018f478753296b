// TokenCache construction shared by the token-cache tests: jitter pinned to its middle
// (random 0.5), and every cache disposed after each test so no timer outlives it.
import { flush, ManualClock } from "@confspace/testing";
import { afterEach } from "vitest";
import { TokenCache, type TokenCacheOptions } from "../src/token-cache.js";
import { HOUR, MINUTE, manualUpstream } from "./upstreams.js";

const caches: Array<{ dispose(): void }> = [];
afterEach(() => {
  for (const cache of caches.splice(0)) cache.dispose();
});

/** A TokenCache with `random: () => 0.5` unless given, disposed after the test. */
export function newCache<K = string, V = string>(options: TokenCacheOptions<K, V>): TokenCache<K, V> {
  const cache = new TokenCache<K, V>({ random: () => 0.5, ...options });
  caches.push(cache);
  return cache;
}

/**
 * A cache with a 5-minute refresh window over a hand-settled upstream, holding "old" for
 * key "k", valid for an hour from now (the clock's time 0): one upstream call so far.
 */
export async function cacheHoldingOld() {
  const clock = new ManualClock();
  const upstream = manualUpstream();
  const cache = newCache({ fetch: upstream.fetch, clock, refreshWindowMs: 5 * MINUTE });
  const first = cache.get("k");
  await flush();
  upstream.calls[0]!.resolve({ value: "old", expiresAt: clock.now() + HOUR });
  await first;
  return { clock, upstream, cache };
}
