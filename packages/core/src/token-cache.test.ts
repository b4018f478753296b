import { flush, ManualClock } from "@confspace/testing";
import { describe, expect, it, vi } from "vitest";
import { cacheHoldingOld, newCache } from "../test/caches.js";
import { countingUpstream, HOUR, MINUTE, manualUpstream } from "../test/upstreams.js";
import { ConfspaceError, TokenUnavailableError } from "./errors.js";
import { TokenCache, type TokenCacheEvent } from "./token-cache.js";

describe("TokenCache single flight", () => {
  it("makes one upstream call for 10 000 concurrent callers on a cold key, and all get its value", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const callers = Array.from({ length: 10_000 }, () => cache.get("scope"));
    await flush();
    expect(upstream.calls).toHaveLength(1);
    upstream.calls[0]!.resolve({ value: "t1", expiresAt: clock.now() + HOUR });
    expect(new Set(await Promise.all(callers))).toEqual(new Set(["t1"]));
  });

  it("gives every concurrent caller the same error when the one upstream call fails", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const callers = Array.from({ length: 100 }, () => cache.get("scope").catch((e: unknown) => e));
    await flush();
    const failure = new Error("upstream down");
    upstream.calls[0]!.reject(failure);
    const results = await Promise.all(callers);
    expect(upstream.calls).toHaveLength(1);
    expect(results.every((r) => r === failure)).toBe(true);
  });

  it("keeps thousands of callers on the cached value during a refresh, with one upstream call", async () => {
    const { clock, upstream, cache } = await cacheHoldingOld();
    await clock.advance(56 * MINUTE); // inside the window: the timer starts a background refresh
    expect(upstream.calls).toHaveLength(2);
    const during = await Promise.all(Array.from({ length: 5_000 }, () => cache.get("k")));
    expect(new Set(during)).toEqual(new Set(["old"]));
    expect(upstream.calls).toHaveLength(2);
    upstream.calls[1]!.resolve({ value: "new", expiresAt: clock.now() + HOUR });
    await flush();
    expect(await cache.get("k")).toBe("new");
    expect(upstream.calls).toHaveLength(2);
  });

  it("keys the cache by keyId, not object identity", async () => {
    const clock = new ManualClock();
    const fetch = vi.fn(async (key: { scopes: string[] }) => ({
      value: key.scopes.join(" "),
      expiresAt: clock.now() + HOUR,
    }));
    const cache = newCache({ fetch, clock, keyId: (k) => [...k.scopes].sort().join(" ") });
    await cache.get({ scopes: ["b", "a"] });
    await cache.get({ scopes: ["a", "b"] });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

describe("TokenCache refresh ahead", () => {
  it("does not call upstream before the refresh window", async () => {
    const clock = new ManualClock();
    const fetch = countingUpstream(clock);
    const cache = newCache({ fetch, clock, refreshWindowMs: 5 * MINUTE });
    expect(await cache.get("k")).toBe("k#1");
    await clock.advance(54 * MINUTE);
    expect(await cache.get("k")).toBe("k#1");
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("refreshes in the background once inside the window, before expiry, without a caller", async () => {
    const clock = new ManualClock();
    const fetch = countingUpstream(clock);
    const cache = newCache({ fetch, clock, refreshWindowMs: 5 * MINUTE });
    await cache.get("k");
    await clock.advance(55 * MINUTE);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(fetch.mock.calls[1]![1]?.reason).toBe("ahead");
    expect(cache.peek("k")).toBe("k#2");
  });

  it("honours an upstream refreshAfter hint earlier than the window", async () => {
    const clock = new ManualClock();
    let n = 0;
    const fetch = vi.fn(async () => {
      n += 1;
      return { value: `v${n}`, expiresAt: clock.now() + HOUR, refreshAfter: clock.now() + 30 * MINUTE };
    });
    const cache = newCache({ fetch, clock });
    await cache.get("k");
    await clock.advance(29 * MINUTE);
    expect(fetch).toHaveBeenCalledTimes(1);
    await clock.advance(MINUTE);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(await cache.get("k")).toBe("v2");
  });

  it("scales the window and skew down for short-lived values", async () => {
    const clock = new ManualClock();
    const fetch = countingUpstream(clock, 60_000);
    const cache = newCache({ fetch, clock });
    await cache.get("k");
    await clock.advance(29_000);
    expect(fetch).toHaveBeenCalledTimes(1); // half the lifetime is the window
    await clock.advance(1_000);
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});

describe("TokenCache failures", () => {
  it("never caches a failed refresh: the next call after the backoff tries again and succeeds", async () => {
    const clock = new ManualClock();
    let fail = true;
    const fetch = vi.fn(async () => {
      if (fail) throw new Error("boom");
      return { value: "ok", expiresAt: clock.now() + HOUR };
    });
    const cache = newCache({ fetch, clock, retry: { initialDelayMs: 1_000 } });
    await expect(cache.get("k")).rejects.toThrow("boom");
    fail = false;
    await clock.advance(1_000);
    await expect(cache.get("k")).resolves.toBe("ok");
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("backs off per key: a caller during the backoff gets TokenUnavailableError carrying the last cause", async () => {
    const clock = new ManualClock();
    const cause = new Error("upstream 503");
    const fetch = vi.fn(async () => {
      throw cause;
    });
    const cache = newCache({ fetch, clock, retry: { initialDelayMs: 1_000, maxDelayMs: 8_000 } });
    await expect(cache.get("k")).rejects.toBe(cause);
    const error = await cache.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).cause).toBe(cause);
    expect((error as TokenUnavailableError).retryAfterMs).toBe(750); // 1000/2 + 0.5 * 1000/2
    expect(fetch).toHaveBeenCalledTimes(1);
    // Delays grow exponentially with each consecutive failure.
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await clock.advance(60_000);
      await cache.get("k").catch(() => {});
      delays.push(((await cache.get("k").catch((e: unknown) => e)) as TokenUnavailableError).retryAfterMs);
    }
    expect(delays).toEqual([1_500, 3_000, 6_000, 6_000, 6_000]);
  });

  it("does not let one key's backoff throttle another key", async () => {
    const clock = new ManualClock();
    const fetch = vi.fn(async (key: string) => {
      if (key === "bad") throw new Error("bad key");
      return { value: key, expiresAt: clock.now() + HOUR };
    });
    const cache = newCache({ fetch, clock });
    await expect(cache.get("bad")).rejects.toThrow("bad key");
    await expect(cache.get("good")).resolves.toBe("good");
  });

  it("keeps serving a still-valid value through an outage, retrying in the background, and never serves it expired", async () => {
    const clock = new ManualClock();
    let down = false;
    const fetch = vi.fn(async () => {
      if (down) throw new Error("outage");
      return { value: "v", expiresAt: clock.now() + HOUR };
    });
    const cache = newCache({ fetch, clock, refreshWindowMs: 10 * MINUTE, expirySkewMs: 30_000 });
    await cache.get("k");
    down = true;
    await clock.advance(50 * MINUTE);
    // From the refresh window until just before expiry, callers keep getting the valid value.
    for (let t = 50 * MINUTE + 30_000; t < HOUR - 30_000; t += 30_000) {
      await clock.advance(30_000);
      expect(await cache.get("k")).toBe("v");
    }
    const attemptsBeforeExpiry = fetch.mock.calls.length;
    expect(attemptsBeforeExpiry).toBeGreaterThan(3); // it kept retrying, did not give up early
    expect(attemptsBeforeExpiry).toBeLessThan(30); // but with backoff, not in a loop
    await clock.advance(30_000); // now past expiry minus skew
    const error = await cache.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBe("v");
    expect(cache.peek("k")).toBeUndefined();
  });

  it("treats an already-expired or expiry-less upstream value as a failure", async () => {
    const clock = new ManualClock();
    const cache = newCache({
      fetch: async (key) => ({ value: key, expiresAt: key === "past" ? clock.now() - 1 : Number.NaN }),
      clock,
    });
    await expect(cache.get("past")).rejects.toMatchObject({ code: "ERR_INVALID_EXPIRY" });
    await expect(cache.get("nan")).rejects.toMatchObject({ code: "ERR_INVALID_EXPIRY" });
  });
});

describe("TokenCache forced refresh", () => {
  it("fetches a new value even though the cached one is valid", async () => {
    const clock = new ManualClock();
    const fetch = countingUpstream(clock);
    const cache = newCache({ fetch, clock });
    expect(await cache.get("k")).toBe("k#1");
    expect(await cache.get("k", { forceRefresh: true })).toBe("k#2");
    expect(fetch.mock.calls[1]![1]?.reason).toBe("forced");
  });

  it("coalesces with a refresh already in flight", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const a = cache.get("k");
    const b = cache.get("k", { forceRefresh: true });
    const c = cache.get("k", { forceRefresh: true });
    await flush();
    expect(upstream.calls).toHaveLength(1);
    upstream.calls[0]!.resolve({ value: "t", expiresAt: clock.now() + HOUR });
    expect(await Promise.all([a, b, c])).toEqual(["t", "t", "t"]);
  });
});

describe("TokenCache abort and dispose", () => {
  it("rejects only the aborted caller; the shared call completes for the others", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const controller = new AbortController();
    const aborted = cache.get("k", { signal: controller.signal });
    const other = cache.get("k");
    await flush();
    controller.abort(new Error("caller gave up"));
    await expect(aborted).rejects.toThrow("caller gave up");
    upstream.calls[0]!.resolve({ value: "t", expiresAt: clock.now() + HOUR });
    await expect(other).resolves.toBe("t");
    expect(upstream.calls[0]!.context.signal.aborted).toBe(false);
  });

  it("dispose cancels timers, aborts the upstream signal, rejects waiting callers and refuses new calls", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const first = cache.get("a");
    await flush();
    upstream.calls[0]!.resolve({ value: "t", expiresAt: clock.now() + HOUR });
    await first;
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(56 * MINUTE);
    const waiting = cache.get("b");
    await flush();
    cache.dispose();
    expect(clock.pendingTimers).toBe(0);
    await expect(waiting).rejects.toMatchObject({ code: "ERR_DISPOSED" });
    expect(upstream.calls[0]!.context.signal.aborted).toBe(false); // it had completed
    expect(upstream.calls.slice(1).map((c) => c.context.signal.aborted)).toEqual([true, true]);
    await expect(cache.get("a")).rejects.toMatchObject({ code: "ERR_DISPOSED" });
    upstream.calls[2]?.resolve({ value: "late", expiresAt: clock.now() + HOUR });
    await clock.advance(2 * HOUR);
    expect(upstream.calls).toHaveLength(3);
  });

  it("schedules real timers unref()ed so a cached credential never keeps the process alive", async () => {
    vi.useFakeTimers();
    try {
      const cache = new TokenCache<string, string>({
        fetch: async (k) => ({ value: k, expiresAt: Date.now() + HOUR }),
      });
      await cache.get("k");
      const timers = vi.getTimerCount();
      expect(timers).toBe(1);
      cache.dispose();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("TokenCache events", () => {
  it("reports start, success and failure with durations and no values", async () => {
    const clock = new ManualClock();
    const events: TokenCacheEvent[] = [];
    let fail = false;
    const cache = newCache({
      name: "azure token",
      clock,
      onEvent: (e) => events.push(e),
      fetch: async () => {
        await clock.advance(25);
        if (fail) throw new ConfspaceError("ERR_X", "nope");
        return { value: "SECRET-VALUE", expiresAt: clock.now() + HOUR };
      },
    });
    await cache.get("scope");
    fail = true;
    await cache.get("scope", { forceRefresh: true }).catch(() => {});
    expect(events.map((e) => `${e.type}:${e.reason}`)).toEqual([
      "refresh-start:cold",
      "refresh-success:cold",
      "refresh-start:forced",
      "refresh-failure:forced",
    ]);
    expect(events[1]).toMatchObject({ cache: "azure token", key: "scope", durationMs: 25 });
    expect(events[3]).toMatchObject({ attempt: 1, retryInMs: 750 });
    expect(JSON.stringify(events)).not.toContain("SECRET-VALUE");
  });

  it("ignores a listener that throws", async () => {
    const clock = new ManualClock();
    const cache = newCache({
      clock,
      fetch: async () => ({ value: "v", expiresAt: clock.now() + HOUR }),
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    await expect(cache.get("k")).resolves.toBe("v");
  });
});
