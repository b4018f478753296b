import type { AccessToken } from "@azure/core-auth";
import type { Expiring } from "@confspace/core";
import { type AzureTokenReply, BrokerError, type UncheckedReply } from "@confspace/ekm-tls";

/** Refresh this long before expiry when the broker gives no `refresh_in` (capped at half the lifetime). */
const DEFAULT_REFRESH_WINDOW_MS = 300_000;
/** Stop serving this long before expiry (capped at a tenth of the lifetime), as core's TokenCache does. */
const EXPIRY_SKEW_MS = 30_000;
const MAX_TOKEN_CHARS = 32_768;

/**
 * Checks the broker's Azure reply `{access_token, token_type, expires_on, refresh_in?}`
 * and turns it into an `AccessToken` with the refresh time the cache and Azure's
 * pipeline should both use: the broker's `refresh_in` (just after its own refresh of the
 * shared token), else a window before expiry.
 *
 * @throws {BrokerError} `ERR_BROKER_PROTOCOL` for a reply that breaks the protocol or an already expired token.
 */
export function parseAzureReply(
  reply: UncheckedReply<AzureTokenReply>,
  now: number,
  brokerUrl: string,
): Expiring<AccessToken> {
  const invalid = (what: string) =>
    new BrokerError(
      "ERR_BROKER_PROTOCOL",
      brokerUrl,
      `The token broker at ${brokerUrl} answered 200 with ${what}; is it a confspace broker speaking protocol v1?`,
      { status: 200 },
    );
  const token = reply.access_token;
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS || /\s/.test(token)) {
    throw invalid("no usable access_token");
  }
  if (typeof reply.token_type !== "string" || reply.token_type.toLowerCase() !== "bearer") {
    throw invalid('a token_type other than "Bearer"');
  }
  const expiresOn = typeof reply.expires_on === "string" ? Number(reply.expires_on) : reply.expires_on;
  if (typeof expiresOn !== "number" || !Number.isFinite(expiresOn) || expiresOn <= 0) {
    throw invalid("no expires_on (seconds since the epoch)");
  }
  const expiresAt = expiresOn * 1000;
  if (expiresAt <= now) {
    throw invalid("a token that has already expired (check this machine's clock against the broker's)");
  }
  const refreshIn = reply.refresh_in;
  if (refreshIn !== undefined && (typeof refreshIn !== "number" || !Number.isFinite(refreshIn) || refreshIn < 0)) {
    throw invalid("a refresh_in that is not a number of seconds");
  }
  const lifetime = expiresAt - now;
  const usableUntil = expiresAt - Math.min(EXPIRY_SKEW_MS, lifetime / 10);
  const planned =
    refreshIn === undefined ? expiresAt - Math.min(DEFAULT_REFRESH_WINDOW_MS, lifetime / 2) : now + refreshIn * 1000;
  const refreshAfter = Math.min(planned, usableUntil);
  return {
    value: Object.freeze({
      token,
      expiresOnTimestamp: expiresAt,
      refreshAfterTimestamp: refreshAfter,
      tokenType: "Bearer" as const,
    }),
    expiresAt,
    refreshAfter,
  };
}
