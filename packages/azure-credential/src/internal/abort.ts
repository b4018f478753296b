import type { GetTokenOptions } from "@azure/core-auth";

type AbortSignalLike = NonNullable<GetTokenOptions["abortSignal"]>;

/**
 * Azure passes an `AbortSignalLike` (only `aborted` and listeners are guaranteed); core's
 * cache wants a real `AbortSignal`. Aborting rejects with the signal's `reason` when it
 * has one, else with an `AbortError`, as Azure's own credentials do.
 */
export function toAbortSignal(signal: AbortSignalLike | undefined): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  const reason = () => (signal as { reason?: unknown }).reason ?? abortError();
  if (signal.aborted) controller.abort(reason());
  else signal.addEventListener("abort", () => controller.abort(reason()), { once: true });
  return controller.signal;
}

function abortError(): Error {
  const error = new Error("The operation was aborted.");
  error.name = "AbortError";
  return error;
}
