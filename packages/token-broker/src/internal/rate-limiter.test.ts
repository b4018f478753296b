import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limiter.js";

describe("RateLimiter", () => {
  it("allows a burst, then one request per refill interval, per key", () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take("a").allowed)).toEqual([true, true, true]);
    expect(limiter.take("a")).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(limiter.take("b").allowed).toBe(true);
    now = 250;
    expect(limiter.take("a")).toEqual({ allowed: false, retryAfterMs: 250 });
    now = 500;
    expect(limiter.take("a").allowed).toBe(true);
    expect(limiter.take("a").allowed).toBe(false);
  });

  it("never holds more than the burst after a long quiet period", () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, now: () => now });
    limiter.take("a");
    now = 3_600_000;
    expect([1, 2, 3].map(() => limiter.take("a").allowed)).toEqual([true, true, false]);
  });

  it("keeps memory bounded: idle buckets go first, then the oldest", () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, now: () => now, maxKeys: 3 });
    for (const key of ["a", "b", "c"]) limiter.take(key);
    expect(limiter.size).toBe(3);
    limiter.take("d"); // nothing idle yet: the oldest ("a") goes
    expect(limiter.size).toBe(3);
    expect(limiter.take("a").allowed).toBe(true); // a fresh bucket, "b" dropped for it
    now = 10_000; // everything refilled: all idle buckets are dropped on the next insert
    limiter.take("e");
    expect(limiter.size).toBe(1);
  });

  it("refuses a non-positive rate or a burst under 1", () => {
    expect(() => new RateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });
});
