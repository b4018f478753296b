import type { AttestationTokenSource, LauncherClient, LauncherClientOptions } from "@confspace/attestation";
import type { Clock, Logger } from "@confspace/core";

/** TLS settings for the connection to Vault. */
export interface VaultTlsOptions {
  /** CA certificate(s) to trust for Vault's server certificate, PEM. Default: env `CONFSPACE_VAULT_CACERT`, then `VAULT_CACERT` (file paths), then Node's CA store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** File holding `ca`, PEM. Used when `ca` is not given. */
  caFile?: string;
  /** Client certificate for mTLS, PEM. Default: env `CONFSPACE_VAULT_CLIENT_CERT`, then `VAULT_CLIENT_CERT` (file paths); none. */
  cert?: string | Buffer;
  /** File holding `cert`. */
  certFile?: string;
  /** The client certificate's private key, PEM. Default: env `CONFSPACE_VAULT_CLIENT_KEY`, then `VAULT_CLIENT_KEY` (file paths). */
  key?: string | Buffer;
  /** File holding `key`. */
  keyFile?: string;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Name to send as SNI and to check the certificate against. Default: env `VAULT_TLS_SERVER_NAME`, then the address's host. */
  servername?: string;
}

/** Options of `VaultJwtClient`. Explicit options win over environment variables, `CONFSPACE_VAULT_*` over Vault's own `VAULT_*`. */
export interface VaultJwtClientOptions {
  /** Vault's address, `https://host:8200`. Default: env `CONFSPACE_VAULT_ADDR`, then `VAULT_ADDR`; required. */
  address?: string;
  /** JWT auth role. Default: env `CONFSPACE_VAULT_ROLE`; without one, no role is sent and Vault uses the mount's `default_role`. */
  role?: string;
  /** Path of the JWT auth mount. Default: env `CONFSPACE_VAULT_AUTH_MOUNT`, then `"jwt"`. */
  mount?: string;
  /** Namespace sent as `X-Vault-Namespace` (Vault Enterprise, OpenBao). Default: env `CONFSPACE_VAULT_NAMESPACE`, then `VAULT_NAMESPACE`; none. */
  namespace?: string;
  /**
   * `aud` of the custom attestation token requested for each login: the value in the
   * role's `bound_audiences`. Default: env `CONFSPACE_VAULT_AUDIENCE`; required unless
   * `tokenSource` is given. `https://sts.googleapis.com` is refused (see `tokenSource`).
   */
  audience?: string;
  /**
   * Where attestation tokens come from instead of custom tokens for `audience`, e.g.
   * `defaultTokenSource()` to send the launcher's default token (audience
   * `https://sts.googleapis.com`) — possible, but read the README first: that token is also
   * a Google credential, so Vault (and anyone who can read its audit log) could replay it
   * at Google STS. Called with `forceRefresh: true` for every login.
   */
  tokenSource?: AttestationTokenSource;
  /** Launcher client, or its options, for custom tokens. Default: env `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket. */
  launcher?: LauncherClient | LauncherClientOptions;
  /** TLS: CA, client certificate (mTLS), server name. */
  tls?: VaultTlsOptions;
  /** Allow `http://` to a host other than loopback. Default `false`: tokens would cross the network in clear. */
  allowInsecureHttp?: boolean;
  /** Deadline of one request to Vault, ms (connect, send, read). Default 30 000. */
  requestTimeoutMs?: number;
  /** Largest answer read from Vault, bytes. Default 4 194 304. */
  maxResponseBytes?: number;
  /** Stop using a token this long before its lease ends, ms (capped at a tenth of the lease). Default 5 000. */
  expirySkewMs?: number;
  /** Backoff between failed logins/renewals, ms: first delay and ceiling (half of each delay random). Default 1 000 / 60 000. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * After a 403 with a token obtained by login less than this long ago, do not log in
   * again: a fresh token that is refused lacks a policy, and logging in cannot fix that.
   * ms. Default 10 000.
   */
  reloginCooldownMs?: number;
  /** Attestation tokens with less than this left before `exp` are never sent, ms. Default 10 000. */
  minAttestationTokenLifetimeMs?: number;
  /** Call `auth/token/revoke-self` on `dispose()`. Default `false` (let the token expire). */
  revokeOnDispose?: boolean;
  /** Where logins, renewals and failures are logged (never a token). Wrapped with `redactingLogger`. Default: no logging. */
  logger?: Logger;
  /** Time and timers. Default `systemClock` from `@confspace/core`. */
  clock?: Clock;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}
