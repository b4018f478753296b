import type { ManualClock } from "@confspace/testing";
import { vi } from "vitest";
import type { Expiring, FetchContext } from "../src/token-cache.js";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** An upstream whose calls the test settles by hand. */
export function manualUpstream<V = string>() {
  const calls: {
    key: string;
    context: FetchContext;
    resolve: (v: Expiring<V>) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const fetch = (key: string, context: FetchContext) =>
    new Promise<Expiring<V>>((resolve, reject) => calls.push({ key, context, resolve, reject }));
  return { calls, fetch };
}

/** An upstream that answers at once with a token valid for `lifetimeMs`, numbering its tokens. */
export function countingUpstream(clock: ManualClock, lifetimeMs = HOUR) {
  let n = 0;
  return vi.fn(async (key: string, _context?: FetchContext) => {
    n += 1;
    return { value: `${key}#${n}`, expiresAt: clock.now() + lifetimeMs };
  });
}
