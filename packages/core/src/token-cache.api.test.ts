import { getEventListeners } from "node:events";
import { flush, ManualClock } from "@confspace/testing";
import { describe, expect, it } from "vitest";
import { newCache } from "../test/caches.js";
import { countingUpstream, HOUR, MINUTE, manualUpstream } from "../test/upstreams.js";
import { InvalidOptionError, TokenUnavailableError } from "./errors.js";
import { type Expiring, TokenCache, type TokenCacheEvent } from "./token-cache.js";

describe("TokenCache options", () => {
  const fetch = async () => ({ value: "v", expiresAt: Date.now() + HOUR });
  it.each([
    ["refreshWindowMs", { refreshWindowMs: -1 }],
    ["expirySkewMs", { expirySkewMs: Number.NaN }],
    ["retry.initialDelayMs", { retry: { initialDelayMs: Number.POSITIVE_INFINITY } }],
    ["retry.maxDelayMs", { retry: { maxDelayMs: -0.5 } }],
  ])("refuses a bad %s, naming it", (option, bad) => {
    const error = (() => {
      try {
        new TokenCache({ fetch, ...bad });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({
      option,
      message: `TokenCache option ${option} must be a non-negative number of ms.`,
    });
  });

  it("accepts zero for every duration", () => {
    const zero = { refreshWindowMs: 0, expirySkewMs: 0, retry: { initialDelayMs: 0, maxDelayMs: 0 } };
    expect(() => new TokenCache({ fetch, ...zero }).dispose()).not.toThrow();
  });

  it('names the value "token" in messages unless told otherwise, and uses the given name', async () => {
    const clock = new ManualClock();
    const failing = async (): Promise<Expiring<string>> => {
      throw new Error("down");
    };
    const plain = newCache({ fetch: failing, clock });
    await plain.get("k").catch(() => {});
    await expect(plain.get("k")).rejects.toThrow(
      "No valid token is available: the last refresh failed; the next attempt is allowed in 750 ms.",
    );
    const named = newCache({ fetch: failing, clock, name: "Entra token" });
    await named.get("k").catch(() => {});
    await expect(named.get("k")).rejects.toThrow(/^No valid Entra token is available/);
    named.dispose();
    await expect(named.get("k")).rejects.toThrow("The Entra token cache has been disposed; create a new credential.");
  });

  it("keys non-string keys by their JSON by default, strings as they are", async () => {
    const clock = new ManualClock();
    const events: TokenCacheEvent[] = [];
    const fetch = countingUpstream(clock);
    const cache = newCache<unknown>({
      fetch: (k, c) => fetch(JSON.stringify(k), c),
      clock,
      onEvent: (e) => events.push(e),
    });
    await cache.get({ scope: "a" });
    await cache.get({ scope: "a" });
    await cache.get("plain");
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(events.filter((e) => e.type === "refresh-start").map((e) => e.key)).toEqual(['{"scope":"a"}', "plain"]);
  });

  it("refuses a fetch result that is not an object with a finite expiresAt", async () => {
    const clock = new ManualClock();
    const results: unknown[] = [null, undefined, "v", { value: "v", expiresAt: "4102444800000" }];
    const cache = newCache({ fetch: async (k) => results[Number(k)] as Expiring<string>, clock });
    for (const i of results.keys()) {
      await expect(cache.get(String(i))).rejects.toMatchObject({
        code: "ERR_INVALID_EXPIRY",
        message: "The token source returned no finite expiresAt.",
      });
    }
    const expired = newCache({ fetch: async () => ({ value: "v", expiresAt: clock.now() - 1 }), clock, name: "x" });
    await expect(expired.get("k")).rejects.toThrow("The x source returned a value that has already expired.");
  });
});

describe("TokenCache refresh reasons and timers", () => {
  it("tells fetch why: cold, then expired after the value's cutoff, then forced", async () => {
    const clock = new ManualClock();
    const fetch = countingUpstream(clock, HOUR);
    const cache = newCache({ fetch, clock });
    await cache.get("k");
    clock.jump(HOUR); // past expiry without the refresh timer having run
    await cache.get("k");
    await cache.get("k", { forceRefresh: true });
    expect(fetch.mock.calls.map((c) => c[1]?.reason)).toEqual(["cold", "expired", "forced"]);
  });

  it("holds no timer while a fetch is in flight, and one once it has settled", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const first = cache.get("k");
    await flush();
    upstream.calls[0]!.resolve({ value: "v", expiresAt: clock.now() + HOUR });
    await first;
    expect(clock.pendingTimers).toBe(1);
    const forced = cache.get("k", { forceRefresh: true });
    await flush();
    expect(clock.pendingTimers).toBe(0);
    upstream.calls[1]!.resolve({ value: "w", expiresAt: clock.now() + HOUR });
    await forced;
    expect(clock.pendingTimers).toBe(1);
  });

  it("does not retry a failed cold fetch in the background: with no value to protect, the next caller decides", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const first = cache.get("k");
    await flush();
    upstream.calls[0]!.reject(new Error("down"));
    await first.catch(() => {});
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10 * MINUTE);
    expect(upstream.calls).toHaveLength(1);
  });

  it("schedules no background retry that would fall exactly at the serving cutoff", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    // refresh at expiry - 30 750 ms; a failure then backs off 750 ms, to exactly expiry - 30 000 (the cutoff).
    const cache = newCache({ fetch: upstream.fetch, clock, refreshWindowMs: 30_750, expirySkewMs: 30_000 });
    const first = cache.get("k");
    await flush();
    upstream.calls[0]!.resolve({ value: "v", expiresAt: clock.now() + HOUR });
    await first;
    await clock.advance(HOUR - 30_750);
    expect(upstream.calls).toHaveLength(2);
    upstream.calls[1]!.reject(new Error("down"));
    await flush();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(2_000);
    expect(upstream.calls).toHaveLength(2);
  });

  it("reports a failure's duration", async () => {
    const clock = new ManualClock();
    const events: TokenCacheEvent[] = [];
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock, onEvent: (e) => events.push(e) });
    const call = cache.get("k").catch(() => {});
    await flush();
    await clock.advance(40);
    upstream.calls[0]!.reject(new Error("down"));
    await call;
    expect(events.at(-1)).toMatchObject({ type: "refresh-failure", durationMs: 40, attempt: 1, retryInMs: 750 });
  });

  it("removes its abort listener from the caller's signal once the call settles", async () => {
    const clock = new ManualClock();
    const cache = newCache({ fetch: countingUpstream(clock), clock });
    const controller = new AbortController();
    await cache.get("k", { signal: controller.signal });
    await cache.get("k", { signal: controller.signal, forceRefresh: true });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});

describe("TokenCache delete and dispose", () => {
  it("delete drops the value and its timer, aborts the fetch in flight with ERR_DELETED, and lets its caller settle", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const first = cache.get("k");
    await flush();
    upstream.calls[0]!.resolve({ value: "v1", expiresAt: clock.now() + HOUR });
    await first;
    cache.delete("k");
    expect(cache.peek("k")).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    const second = cache.get("k");
    await flush();
    expect(upstream.calls[1]!.context.reason).toBe("cold");
    cache.delete("k");
    const signal = upstream.calls[1]!.context.signal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ code: "ERR_DELETED", message: "The cached token was deleted." });
    // The deleted fetch still answers its caller, but its value is not cached and arms no timer.
    upstream.calls[1]!.resolve({ value: "v2", expiresAt: clock.now() + HOUR });
    await expect(second).resolves.toBe("v2");
    expect(cache.peek("k")).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    cache.delete("never-seen"); // a no-op
  });

  it("a deleted key's late failure sets no backoff on the key's next life", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const first = cache.get("k").catch((e: unknown) => e);
    await flush();
    cache.delete("k");
    upstream.calls[0]!.reject(new Error("late"));
    await first;
    const next = cache.get("k");
    await flush();
    expect(upstream.calls).toHaveLength(2);
    upstream.calls[1]!.resolve({ value: "ok", expiresAt: clock.now() + HOUR });
    await expect(next).resolves.toBe("ok");
  });

  it("after dispose, peek finds nothing, no fetch starts, and a late answer arms no timer", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const first = cache.get("a");
    await flush();
    upstream.calls[0]!.resolve({ value: "v", expiresAt: clock.now() + HOUR });
    await first;
    const pending = cache.get("b").catch((e: unknown) => e);
    await flush();
    cache.dispose();
    cache.dispose();
    expect(cache.peek("a")).toBeUndefined();
    upstream.calls[1]!.resolve({ value: "late", expiresAt: clock.now() + HOUR });
    expect(await pending).toMatchObject({ code: "ERR_DISPOSED" });
    await expect(cache.get("c")).rejects.toMatchObject({ code: "ERR_DISPOSED" });
    await flush();
    expect(upstream.calls).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a late failure after dispose arms no retry timer", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock, refreshWindowMs: 5 * MINUTE });
    const first = cache.get("k");
    await flush();
    upstream.calls[0]!.resolve({ value: "v", expiresAt: clock.now() + HOUR });
    await first;
    await clock.advance(55 * MINUTE); // background refresh in flight
    cache.dispose();
    upstream.calls[1]!.reject(new Error("late"));
    await flush();
    expect(clock.pendingTimers).toBe(0);
  });

  it("is disposable with `using`", async () => {
    const clock = new ManualClock();
    let escaped: TokenCache<string, string> | undefined;
    {
      using cache = new TokenCache<string, string>({ fetch: countingUpstream(clock), clock });
      escaped = cache;
      await cache.get("k");
    }
    await expect(escaped.get("k")).rejects.toMatchObject({ code: "ERR_DISPOSED" });
    expect(clock.pendingTimers).toBe(0);
  });

  it("a caller during the backoff gets TokenUnavailableError; after it, a caller tries again and gets the new failure itself", async () => {
    const clock = new ManualClock();
    const cache = newCache({
      fetch: async () => {
        throw new Error("down");
      },
      clock,
    });
    await cache.get("k").catch(() => {});
    await expect(cache.get("k")).rejects.toBeInstanceOf(TokenUnavailableError);
    await clock.advance(750);
    await expect(cache.get("k")).rejects.toThrow("down");
  });
});
