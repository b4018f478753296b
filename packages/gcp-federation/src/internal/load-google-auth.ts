import { createRequire } from "node:module";
import type * as GoogleAuth from "google-auth-library";

let loaded: typeof GoogleAuth | undefined;

/**
 * google-auth-library, required on first use rather than when this package loads: it is
 * nearly all of a cold import's cost (≈ 60 ms on Node 24), and an app that imports this
 * package without creating a client yet should not pay for it. It is a CommonJS package,
 * so `require` returns the very module an `import` of it gives the app and the Google
 * Cloud clients (one copy, so their `instanceof` checks hold), and synchronously, so
 * `createFederatedAuthClient()` stays synchronous. A failed load is not cached.
 */
export function loadGoogleAuth(): typeof GoogleAuth {
  loaded ??= createRequire(import.meta.url)("google-auth-library") as typeof GoogleAuth;
  return loaded;
}
