import { type Clock, systemClock } from "@confspace/core";
import { sleep } from "./sleep.js";

/**
 * Sliding-window limiter: at most `limit` acquisitions start within any `windowMs`.
 * Waiters re-check after the oldest start leaves the window, so the bound holds
 * however many callers wait at once.
 */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #starts: number[] = [];

  constructor(limit: number, windowMs: number, clock: Clock) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  /** Waits until a start is allowed and records it. Rejects with the signal's reason when aborted. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = this.#clock.now();
      while (this.#starts.length > 0 && (this.#starts[0] as number) <= now - this.#windowMs) this.#starts.shift();
      if (this.#starts.length < this.#limit) {
        this.#starts.push(now);
        return;
      }
      await sleep(this.#clock, (this.#starts[0] as number) + this.#windowMs - now, signal);
    }
  }
}

// The launcher's quota is per project and region, so every client of one socket in this
// process should draw from one budget. Clients with an injected clock get their own
// limiter: a fake clock must not leak into other clients.
const shared = new Map<string, SlidingWindowLimiter>();

/** The limiter for `socketPath` and `limit` per second, shared by every client on the system clock. */
export function limiterFor(socketPath: string, limit: number, clock: Clock): SlidingWindowLimiter {
  if (clock !== systemClock) return new SlidingWindowLimiter(limit, 1000, clock);
  const key = `${socketPath}\0${limit}`;
  let limiter = shared.get(key);
  if (limiter === undefined) {
    limiter = new SlidingWindowLimiter(limit, 1000, clock);
    shared.set(key, limiter);
  }
  return limiter;
}
