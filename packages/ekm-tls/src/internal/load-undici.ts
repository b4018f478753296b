import type * as Undici from "undici";

let loading: Promise<typeof Undici> | undefined;

/**
 * undici, imported on first use rather than when this package loads: it is most of a cold
 * import's cost, and an app that imports a credential but has not asked for a token yet
 * should not pay for it. A failed import is not cached, so a later call tries again.
 */
export function loadUndici(): Promise<typeof Undici> {
  loading ??= import("undici").catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
