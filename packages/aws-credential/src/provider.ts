import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";

/**
 * The provider returned by {@link fromWebIdentity} and {@link fromBroker}: an
 * `AwsCredentialIdentityProvider` for any AWS SDK v3 client's `credentials` option.
 *
 * It is marked `memoized`, so the SDK calls it for every request instead of wrapping it
 * in its own cache (which would refresh synchronously, inside a request, once less than
 * five minutes remain). The provider keeps its credentials in core's `TokenCache`: one
 * upstream call per refresh however many requests are in flight, a background refresh
 * ahead of `expiration`, backoff after failures, and never credentials past their
 * expiry (minus a skew). Every returned identity carries `expiration`.
 */
export interface ConfspaceAwsCredentialProvider extends AwsCredentialIdentityProvider {
  /** Always `true`: tells the SDK not to wrap this provider in another cache. */
  readonly memoized: true;
  /** Stops background refreshes and aborts one in flight; later calls reject with `ERR_DISPOSED`. */
  dispose(): void;
  [Symbol.dispose](): void;
}
