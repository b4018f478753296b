import { describe, expect, it } from "vitest";
import { systemClock } from "./clock.js";

describe("systemClock", () => {
  it("tells the time of Date.now", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it("runs a timer's callback, and cancels one that is cleared", async () => {
    const fired: string[] = [];
    const done = Promise.withResolvers<void>();
    const cancelled = systemClock.setTimeout(() => fired.push("cancelled"), 1);
    systemClock.setTimeout(() => {
      fired.push("kept");
      done.resolve();
    }, 5);
    systemClock.clearTimeout(cancelled);
    await done.promise;
    expect(fired).toEqual(["kept"]);
  });

  it("unrefs its timers so they never keep the process alive", () => {
    const timer = systemClock.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
    try {
      expect(timer.hasRef()).toBe(false);
    } finally {
      systemClock.clearTimeout(timer);
    }
  });
});
