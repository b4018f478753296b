import { flush, ManualClock } from "@confspace/testing";
import { describe, expect, it } from "vitest";
import { cacheHoldingOld, newCache } from "../test/caches.js";
import { countingUpstream, HOUR, MINUTE, manualUpstream } from "../test/upstreams.js";
import { TokenUnavailableError } from "./errors.js";
import type { Expiring, TokenCache } from "./token-cache.js";

/** Whether `promise` has settled after queued callbacks ran: its value, its error, or "pending". */
async function state(promise: Promise<unknown>): Promise<unknown> {
  let result: unknown = "pending";
  promise.then(
    (v) => {
      result = v;
    },
    (e: unknown) => {
      result = e;
    },
  );
  await flush();
  return result;
}

/** retryAfterMs of the TokenUnavailableError a caller gets during the backoff. */
async function retryAfter(cache: TokenCache<string, string>, key: string): Promise<number> {
  const error = await cache.get(key).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TokenUnavailableError);
  return (error as TokenUnavailableError).retryAfterMs;
}

describe("TokenCache backoff jitter", () => {
  it.each([
    [0, [500, 1_000, 2_000, 4_000, 4_000]],
    [0.999, [1_000, 1_999, 3_998, 7_996, 7_996]],
  ])(
    "with random = %d, waits half the delay plus that share of the other half, up to the maximum",
    async (random, expected) => {
      const clock = new ManualClock();
      const fetch = async (): Promise<Expiring<string>> => {
        throw new Error("down");
      };
      const cache = newCache({
        fetch,
        clock,
        random: () => random,
        retry: { initialDelayMs: 1_000, maxDelayMs: 8_000 },
      });
      const delays: number[] = [];
      for (const _ of expected) {
        await cache.get("k").catch(() => {});
        const delay = await retryAfter(cache, "k");
        delays.push(delay);
        await clock.advance(delay - 1);
        expect(await retryAfter(cache, "k")).toBe(1); // still backing off one ms before
        await clock.advance(1);
      }
      expect(delays).toEqual(expected);
    },
  );
});

describe("TokenCache caller signals", () => {
  it("rejects a caller whose signal is already aborted at once, without an upstream call", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const reason = new Error("caller gave up");
    expect(await state(cache.get("k", { signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(upstream.calls).toHaveLength(0);
  });

  it("does not let a caller whose signal is already aborted join a call in flight", async () => {
    const clock = new ManualClock();
    const upstream = manualUpstream();
    const cache = newCache({ fetch: upstream.fetch, clock });
    const other = cache.get("k");
    const reason = new Error("caller gave up");
    expect(await state(cache.get("k", { signal: AbortSignal.abort(reason) }))).toBe(reason);
    upstream.calls[0]!.resolve({ value: "t", expiresAt: clock.now() + HOUR });
    await expect(other).resolves.toBe("t");
    expect(upstream.calls).toHaveLength(1);
  });
});

describe("TokenCache values on arrival", () => {
  it("refuses a value whose expiresAt is exactly now: it arrives expired, is never served, and counts as a failure", async () => {
    const clock = new ManualClock();
    const cache = newCache({ fetch: async () => ({ value: "stale", expiresAt: clock.now() }), clock });
    await expect(cache.get("k")).rejects.toMatchObject({ code: "ERR_INVALID_EXPIRY" });
    expect(cache.peek("k")).toBeUndefined();
    expect(await retryAfter(cache, "k")).toBe(750);
  });
});

describe("TokenCache refreshAfter hints", () => {
  function hinted(clock: ManualClock, hint: (now: number, expiresAt: number) => number) {
    return countingFetch(clock, (now) => ({ expiresAt: now + HOUR, refreshAfter: hint(now, now + HOUR) }));
  }

  it.each([
    ["later than the serving cutoff", (_now: number, exp: number) => exp + 10 * MINUTE],
    ["exactly at the serving cutoff (expiry minus skew)", (_now: number, exp: number) => exp - 30_000],
    ["not in the future (it would refresh in a loop)", (now: number) => now],
    ["not a number", () => Number.NaN],
  ])("ignores a hint %s and refreshes ahead by the window instead", async (_name, hint) => {
    const clock = new ManualClock();
    const fetch = hinted(clock, hint);
    const cache = newCache({ fetch, clock, refreshWindowMs: 5 * MINUTE, expirySkewMs: 30_000 });
    await cache.get("k");
    await clock.advance(55 * MINUTE - 1);
    expect(fetch.calls).toEqual(["cold"]);
    await clock.advance(1);
    expect(fetch.calls).toEqual(["cold", "ahead"]);
    expect(await cache.get("k")).toBe("v2");
  });

  it("honours a hint between the window and the serving cutoff", async () => {
    const clock = new ManualClock();
    const fetch = hinted(clock, (now) => now + 58 * MINUTE);
    const cache = newCache({ fetch, clock, refreshWindowMs: 5 * MINUTE, expirySkewMs: 30_000 });
    await cache.get("k");
    await clock.advance(58 * MINUTE - 1);
    expect(fetch.calls).toEqual(["cold"]);
    await clock.advance(1);
    expect(fetch.calls).toEqual(["cold", "ahead"]);
  });

  it("refreshes at the serving cutoff, never after it, when the window is shorter than the skew", async () => {
    const clock = new ManualClock();
    const fetch = countingFetch(clock, (now) => ({ expiresAt: now + HOUR }));
    const cache = newCache({ fetch, clock, refreshWindowMs: 10_000, expirySkewMs: 30_000 });
    await cache.get("k");
    await clock.advance(HOUR - 30_001);
    expect(fetch.calls).toEqual(["cold"]);
    await clock.advance(1);
    expect(fetch.calls).toEqual(["cold", "ahead"]);
  });
});

describe("TokenCache refresh window edge cases", () => {
  it("a caller inside the refresh window gets the cached value during the backoff and starts no attempt; the timer retries", async () => {
    const { clock, upstream, cache } = await cacheHoldingOld();
    await clock.advance(55 * MINUTE);
    upstream.calls[1]!.reject(new Error("refresh failed"));
    await flush(); // backing off for 750 ms
    for (const step of [0, 100, 649]) {
      await clock.advance(step);
      expect(await cache.get("k")).toBe("old");
    }
    expect(upstream.calls).toHaveLength(2);
    await clock.advance(1);
    expect(upstream.calls.map((c) => c.context.reason)).toEqual(["cold", "ahead", "retry"]);
  });

  it("a caller starts the refresh when the wall clock has passed the refresh time but no timer has fired", async () => {
    const clock = new ManualClock();
    const fetch = countingUpstream(clock);
    const cache = newCache({ fetch, clock, refreshWindowMs: 5 * MINUTE });
    await cache.get("k");
    clock.jump(55 * MINUTE);
    expect(await cache.get("k")).toBe("k#1"); // still valid: served at once
    await flush();
    expect(fetch.mock.calls.map((c) => c[1]?.reason)).toEqual(["cold", "ahead"]);
    expect(cache.peek("k")).toBe("k#2");
  });

  it("a caller starts the retry once the backoff has passed on the wall clock, with timers lagging", async () => {
    const { clock, upstream, cache } = await cacheHoldingOld();
    await clock.advance(55 * MINUTE);
    upstream.calls[1]!.reject(new Error("refresh failed"));
    await flush();
    clock.jump(750); // exactly the backoff
    expect(await cache.get("k")).toBe("old");
    await flush();
    expect(upstream.calls).toHaveLength(3);
  });

  it("re-arms a timer that fires before its time instead of refreshing early (delays above 2^31-1 ms)", async () => {
    const clock = new ManualClock();
    const delays: number[] = [];
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (callback, ms) => {
      delays.push(ms);
      return setTimeout(callback, ms);
    };
    const lifetime = 60 * 24 * HOUR; // longer than a Node timer can wait
    const fetch = countingUpstream(clock, lifetime);
    const cache = newCache({ fetch, clock, refreshWindowMs: 5 * MINUTE });
    await cache.get("k");
    await clock.advance(2 ** 31 - 1);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(1);
    expect(Math.max(...delays)).toBe(2 ** 31 - 1);
    await clock.advance(lifetime - 5 * MINUTE - 2 ** 31);
    expect(fetch).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("caps the skew at a tenth of a short lifetime: a 60 s value is served until 54 s, through a failing refresh", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const fetch = async (): Promise<Expiring<string>> => {
      calls += 1;
      if (calls > 1) throw new Error("down");
      return { value: "short", expiresAt: clock.now() + 60_000 };
    };
    const cache = newCache({ fetch, clock, expirySkewMs: 30_000 });
    await cache.get("k");
    await clock.advance(53_999);
    expect(calls).toBeGreaterThan(1); // the refresh at 30 s failed and was retried
    expect(cache.peek("k")).toBe("short");
    await clock.advance(1);
    expect(cache.peek("k")).toBeUndefined();
    await expect(cache.get("k")).rejects.toBeInstanceOf(Error);
  });
});

/** An upstream answering at once with v1, v2, …, recording each call's reason. */
function countingFetch(clock: ManualClock, plan: (now: number) => Omit<Expiring<string>, "value">) {
  const calls: string[] = [];
  const fetch = async (_key: string, context: { reason: string }): Promise<Expiring<string>> => {
    calls.push(context.reason);
    return { value: `v${calls.length}`, ...plan(clock.now()) };
  };
  return Object.assign(fetch, { calls });
}
