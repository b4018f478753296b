import { systemClock } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../test/support.js";
import { limiterFor, SlidingWindowLimiter } from "./rate-limiter.js";

describe("SlidingWindowLimiter", () => {
  it("lets `limit` starts through at once and holds the next until the oldest leaves the window", async () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter(5, 1000, clock);
    const started: number[] = [];
    const t0 = clock.now();
    const all = Array.from({ length: 12 }, () => limiter.acquire().then(() => started.push(clock.now() - t0)));
    await clock.advance(0);
    expect(started).toEqual([0, 0, 0, 0, 0]);
    await clock.advance(999);
    expect(started).toHaveLength(5);
    await clock.advance(1);
    expect(started).toHaveLength(10);
    await clock.advance(1000);
    await Promise.all(all);
    expect(started).toEqual([0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000]);
  });

  it("never starts more than `limit` in any window, with starts spread over time", async () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter(3, 1000, clock);
    const starts: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      all.push(limiter.acquire().then(() => void starts.push(clock.now())));
      await clock.advance(150);
    }
    await clock.advance(5000);
    await Promise.all(all);
    for (const start of starts)
      expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(3);
    expect(starts).toHaveLength(10);
  });

  it("rejects a waiter with the abort reason and does not count it", async () => {
    const clock = new ManualClock();
    const limiter = new SlidingWindowLimiter(1, 1000, clock);
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    await clock.advance(1000);
    let started = false;
    void limiter.acquire().then(() => {
      started = true;
    });
    await clock.advance(0);
    expect(started).toBe(true);
  });
});

describe("limiterFor", () => {
  it("shares one limiter per socket path on the system clock", () => {
    expect(limiterFor("/a.sock", 5, systemClock)).toBe(limiterFor("/a.sock", 5, systemClock));
    expect(limiterFor("/a.sock", 5, systemClock)).not.toBe(limiterFor("/b.sock", 5, systemClock));
  });

  it("gives a client with an injected clock its own limiter", () => {
    const clock = new ManualClock();
    expect(limiterFor("/a.sock", 5, clock)).not.toBe(limiterFor("/a.sock", 5, clock));
  });
});
