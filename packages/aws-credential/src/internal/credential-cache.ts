import type { AwsCredentialIdentity } from "@aws-sdk/types";
import { type Clock, type FetchContext, type Logger, noopLogger, redactingLogger, TokenCache } from "@confspace/core";
import { AwsCredentialOptionError } from "../errors.js";
import type { ConfspaceAwsCredentialProvider } from "../provider.js";

/** Temporary credentials with a real `expiration`. */
export type ExpiringAwsIdentity = AwsCredentialIdentity & { readonly expiration: Date };

/** What both factories share. */
export interface CredentialCacheOptions {
  name: string;
  fetch: (context: FetchContext) => Promise<ExpiringAwsIdentity>;
  refreshWindowMs?: number;
  expirySkewMs?: number;
  clock?: Clock;
  logger?: Logger;
  fields: Record<string, unknown>;
  /** Releases what `fetch` holds (an SDK client's sockets) when the provider is disposed. */
  onDispose?: () => void;
}

/**
 * Wraps `fetch` in a one-key `TokenCache` and exposes it as a memoized AWS provider.
 * `identityProperties.forceRefresh` (as the SDK's own memoizer passes it) forces a
 * refresh that joins one already in flight.
 */
export function credentialProvider(options: CredentialCacheOptions): ConfspaceAwsCredentialProvider {
  const logger = options.logger === undefined ? noopLogger : redactingLogger(options.logger);
  const cache = new TokenCache<"credentials", ExpiringAwsIdentity>({
    name: options.name,
    clock: options.clock,
    refreshWindowMs: nonNegative("refreshWindowMs", options.refreshWindowMs),
    expirySkewMs: nonNegative("expirySkewMs", options.expirySkewMs),
    fetch: async (_key, context) => {
      const identity = await options.fetch(context);
      return { value: identity, expiresAt: identity.expiration.getTime() };
    },
    onEvent: (event) => {
      if (event.type === "refresh-failure") {
        logger.warn(`${options.name}: refresh failed`, {
          ...options.fields,
          reason: event.reason,
          attempt: event.attempt,
          retryInMs: event.retryInMs,
          error: errorSummary(event.error),
        });
      } else if (event.type === "refresh-success") {
        logger.debug(`${options.name}: refreshed`, {
          ...options.fields,
          reason: event.reason,
          durationMs: event.durationMs,
          expiresAt: new Date(event.expiresAt).toISOString(),
          refreshAt: new Date(event.refreshAt).toISOString(),
        });
      }
    },
  });
  const provider = async (identityProperties?: Record<string, unknown>) =>
    cache.get("credentials", { forceRefresh: identityProperties?.forceRefresh === true });
  const dispose = () => {
    cache.dispose();
    options.onDispose?.();
  };
  return Object.assign(provider, { memoized: true as const, dispose, [Symbol.dispose]: dispose });
}

function nonNegative(option: string, value: number | undefined): number | undefined {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new AwsCredentialOptionError(option, `${option} must be a non-negative number of milliseconds.`);
  }
  return value;
}

function errorSummary(error: unknown): Record<string, unknown> {
  if (typeof error !== "object" || error === null) return { message: String(error) };
  const e = error as { name?: unknown; code?: unknown; awsCode?: unknown; status?: unknown };
  return { name: e.name, code: e.code, awsCode: e.awsCode, status: e.status };
}
