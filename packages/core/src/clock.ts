/**
 * Time source and timers used by the token lifecycle engine. Inject a fake one in
 * tests; the default uses `Date.now` and `setTimeout`, with every timer `unref()`ed so
 * a cached credential never keeps a process alive.
 */
export interface Clock {
  /** Current time in ms since the epoch. */
  now(): number;
  /** Runs `callback` after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer returned by {@link Clock.setTimeout}. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock. Looks up the global `Date.now`/`setTimeout` at each call, so
 * `vi.useFakeTimers()` also applies to it.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(callback: () => void, ms: number): unknown {
    const timer = setTimeout(callback, ms);
    // Stryker disable next-line OptionalChaining: Node's timers always have unref(); the ?. is for runtimes whose timers are numbers.
    (timer as { unref?: () => void }).unref?.();
    return timer;
  },
  clearTimeout(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
