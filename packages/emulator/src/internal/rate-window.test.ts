import { describe, expect, it } from "vitest";
import { RateWindow } from "./rate-window.js";

describe("RateWindow", () => {
  it("allows 5 requests in any second and refuses the 6th", () => {
    let now = 1_000_000;
    const window = new RateWindow(5, 1000, () => now);
    expect(Array.from({ length: 6 }, () => window.tryAcquire())).toEqual([true, true, true, true, true, false]);
    now += 999;
    expect(window.tryAcquire()).toBe(false);
    now += 1;
    expect(window.tryAcquire()).toBe(true);
  });

  it("slides: old requests age out one by one", () => {
    let now = 0;
    const window = new RateWindow(2, 1000, () => now);
    expect(window.tryAcquire()).toBe(true); // t=0
    now = 500;
    expect(window.tryAcquire()).toBe(true); // t=500
    now = 1000;
    expect(window.tryAcquire()).toBe(true); // t=0 aged out
    expect(window.tryAcquire()).toBe(false);
    now = 1499;
    expect(window.tryAcquire()).toBe(false);
  });

  it("does not count refused requests", () => {
    let now = 0;
    const window = new RateWindow(1, 1000, () => now);
    expect(window.tryAcquire()).toBe(true);
    now = 900;
    expect(window.tryAcquire()).toBe(false);
    now = 1000;
    expect(window.tryAcquire()).toBe(true);
  });
});
