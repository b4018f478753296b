import type { Clock } from "@confspace/core";

/**
 * The one manual test clock of the repository: time moves only when a test says so, and
 * due timers run in order during {@link ManualClock.advance}, with promise and I/O
 * callbacks let run before and after each one.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  /** Every delay passed to setTimeout, in order. */
  readonly delays: number[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.delays.push(ms);
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and neither run nor cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms` without running any timer: the wall clock jumped (a suspended VM, a stalled event loop). */
  jump(ms: number): void {
    this.#now += ms;
  }

  /** Moves time forward by `ms`, running every timer that falls due, and lets promise callbacks run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await flush();
      const due = [...this.#timers].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].callback();
    }
    this.#now = target;
    await flush();
  }
}

/** Lets queued promise callbacks, then I/O callbacks, run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
