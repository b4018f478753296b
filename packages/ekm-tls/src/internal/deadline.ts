/** A signal that aborts when the caller's signal does or when a time limit runs out. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** `true` once the time limit (not the caller) aborted the signal. */
  readonly timedOut: boolean;
  /** Stops the timer and detaches from the caller's signal. Idempotent. */
  dispose(): void;
}

/**
 * Links an optional caller signal with a timer. On timeout the signal aborts with
 * `timeoutReason()`; on the caller's abort it aborts with the caller's reason. The timer
 * is unref'ed: a pending deadline never keeps the process alive by itself.
 */
export function startDeadline(
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
  timeoutReason: () => Error,
): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(timeoutReason());
        }, timeoutMs)
      : undefined;
  timer?.unref();
  if (callerSignal?.aborted) controller.abort(callerSignal.reason);
  else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });

  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onCallerAbort);
    },
  };
}

/** Longest delay `setTimeout` honours (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** Validates a timeout option: milliseconds from 0 (no limit) to 2^31 - 1. */
export function isTimeoutMs(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS;
}
