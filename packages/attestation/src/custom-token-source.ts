import { type Clock, ConfspaceError, type Logger, systemClock, TokenCache } from "@confspace/core";
import type { TokenType } from "./claims.js";
import { expiringToken } from "./internal/expiring-token.js";
import { nonNegativeMs } from "./internal/options.js";
import { LauncherClient, type LauncherClientOptions } from "./launcher-client.js";
import { type ValidTokenRequest, validateTokenRequest } from "./token-request.js";
import type { AttestationTokenSource, GetAttestationTokenOptions } from "./token-source.js";

/** Options of {@link customTokenSource}. */
export interface CustomTokenSourceOptions {
  /** The tokens' `aud`. Required; at most 512 UTF-8 bytes; not `https://sts.googleapis.com` (use {@link defaultTokenSource}). */
  audience: string;
  /** Token format. Default `"OIDC"`. */
  tokenType?: TokenType;
  /** Image-signature key IDs turned into the `container.signatures.key_ids` AWS principal tag; only with `AWS_PRINCIPALTAGS` (the launcher drops them for `LIMITED_AWS`). Default: none. */
  awsPrincipalTagKeyIds?: readonly string[];
  /**
   * The launcher: a client, or options for one (`clock` and `logger` are passed on when
   * unset). Default: a `LauncherClient` on env `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket.
   */
  launcher?: LauncherClient | LauncherClientOptions;
  /** Start refreshing a cached token this long before its `exp`, in ms. Default 300 000, capped at half its lifetime. */
  refreshWindowMs?: number;
  /** Stop serving a cached token this long before its `exp`, in ms. Default 30 000, capped at a tenth of its lifetime. */
  expirySkewMs?: number;
  /** Passed to the launcher client when `launcher` is not a client. Default: no logging. */
  logger?: Logger;
  /** Time and timers. Default `systemClock` from `@confspace/core`. */
  clock?: Clock;
}

/** The source returned by {@link customTokenSource}. */
export interface CustomTokenSource extends AttestationTokenSource {
  /** The validated request this source asks for, defaults applied. */
  readonly request: ValidTokenRequest;
  /** The launcher this source asks. */
  readonly launcher: LauncherClient;
  /** Stops background refreshes; later calls reject with `ERR_DISPOSED`. */
  dispose(): void;
}

/**
 * Custom tokens for one audience (and token type and AWS key IDs) from the launcher
 * socket. Without nonces, tokens are cached through core's `TokenCache` keyed by
 * (audience, tokenType, key IDs) and refreshed ahead of their `exp`, so concurrent
 * callers share one launcher request. With nonces (`getToken({ nonces })`), each call
 * asks the launcher for a new token that is never cached or shared: a nonce binds a
 * token to one use.
 *
 * The request is validated when the source is created: an invalid audience, token type
 * or key ID list throws {@link InvalidTokenRequestError} here, not at the first call.
 *
 * @example
 * ```ts
 * const source = customTokenSource({ audience: "https://vault.example.com" });
 * const jwt = await source.getToken();
 * const bound = await source.getToken({ nonces: [ekmNonce] }); // fresh, never cached
 * ```
 */
export function customTokenSource(options: CustomTokenSourceOptions): CustomTokenSource {
  const request = validateTokenRequest(options);
  const clock = options.clock ?? systemClock;
  const launcher =
    options.launcher instanceof LauncherClient
      ? options.launcher
      : new LauncherClient({ clock: options.clock, logger: options.logger, ...options.launcher });
  const cache = new TokenCache<ValidTokenRequest, string>({
    name: `attestation token for ${request.audience}`,
    clock,
    refreshWindowMs: nonNegativeMs("refreshWindowMs", options.refreshWindowMs, 300_000),
    expirySkewMs: nonNegativeMs("expirySkewMs", options.expirySkewMs, 30_000),
    keyId: (key) => JSON.stringify([key.audience, key.tokenType, [...key.awsPrincipalTagKeyIds].sort()]),
    fetch: async (key, { signal }) =>
      expiringToken(await launcher.requestToken({ ...key, signal }), clock, `${key.tokenType} token`),
  });
  let disposed = false;

  async function getToken(call: GetAttestationTokenOptions = {}): Promise<string> {
    if (call.nonces !== undefined && call.nonces.length > 0) {
      if (disposed)
        throw new ConfspaceError("ERR_DISPOSED", "This custom token source has been disposed; create a new one.");
      const token = await launcher.requestToken({ ...request, nonces: call.nonces, signal: call.signal });
      return expiringToken(token, clock, `${request.tokenType} token`).value;
    }
    return cache.get(request, { signal: call.signal, forceRefresh: call.forceRefresh });
  }

  return {
    request,
    launcher,
    getToken,
    dispose: () => {
      disposed = true;
      cache.dispose();
    },
  };
}
