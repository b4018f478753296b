import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/** Which upstream a {@link UpstreamUnavailableError} is about. */
export type UpstreamProvider = string;

/** Options of {@link UpstreamUnavailableError}. */
export interface UpstreamUnavailableErrorOptions extends ConfspaceErrorOptions {
  provider: UpstreamProvider;
  /** When a retry may succeed, in ms from now. Default 5 000. */
  retryAfterMs?: number;
}

/**
 * The broker could not obtain a credential from an upstream (Microsoft Entra, AWS STS):
 * unreachable, throttled, refusing the broker's own credentials, or backing off after
 * such a failure. Code `ERR_UPSTREAM_UNAVAILABLE`. The workload gets 503 with
 * `Retry-After`; `cause` keeps the upstream's error for the broker's log, never for the
 * workload.
 */
export class UpstreamUnavailableError extends ConfspaceError {
  declare readonly code: "ERR_UPSTREAM_UNAVAILABLE";
  /** The upstream that failed. */
  readonly provider: UpstreamProvider;
  /** When a retry may succeed, in ms from now. */
  readonly retryAfterMs: number;

  constructor(message: string, options: UpstreamUnavailableErrorOptions) {
    super("ERR_UPSTREAM_UNAVAILABLE", message, options);
    this.provider = options.provider;
    this.retryAfterMs = Math.max(0, Math.ceil(options.retryAfterMs ?? 5_000));
  }
}
