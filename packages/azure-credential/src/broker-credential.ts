import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { AttestationTokenSource } from "@confspace/attestation";
import { type Clock, CredentialUnavailableError, type Logger, TokenCache } from "@confspace/core";
import { BrokerError, type BrokerTokenType, requestBrokerCredential } from "@confspace/ekm-tls";
import { AzureScopeError, AzureTenantError } from "./errors.js";
import { toAbortSignal } from "./internal/abort.js";
import { parseAzureReply } from "./internal/azure-reply.js";
import { type ResolvedOptions, resolveOptions } from "./internal/options.js";

/** Options of {@link ConfidentialSpaceBrokerCredential}. */
export interface BrokerCredentialOptions {
  /** The token broker's `https:` origin, e.g. `https://broker.example:8443`. Default: env `CONFSPACE_BROKER_URL`; one of the two is required. */
  brokerUrl?: string;
  /** The broker's `attestation.audience` (the tokens' `aud`, and the TLS exporter context). Default: env `CONFSPACE_BROKER_AUDIENCE`; one of the two is required. */
  audience?: string;
  /** PEM CA certificate(s) trusted for the broker's certificate. Default: Node's root store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate and key, for a broker that requires mutual TLS. Default: none. */
  clientCertificate?: { cert: string | Buffer; key: string | Buffer };
  /** Attestation token format the broker verifies (its `attestation.tokenType`). Default `"OIDC"`. */
  tokenType?: BrokerTokenType;
  /**
   * The Entra tenant the broker's grant issues tokens from. When set, a `getToken` call
   * asking for another tenant (Azure Storage does after a challenge from an account in
   * another tenant) fails with `ERR_TENANT_MISMATCH`. Default: none; a requested tenant
   * is then not checked (the broker's grant decides it either way).
   */
  tenantId?: string;
  /** The launcher's Unix socket. Default: env `CONFSPACE_LAUNCHER_SOCKET`, then `/run/container_launcher/teeserver.sock`. */
  launcherSocket?: string;
  /**
   * Advanced, instead of `launcherSocket`: where bound attestation tokens come from; its
   * `getToken({ nonces })` must return a fresh token for `audience` carrying exactly those
   * nonces. Default: the launcher.
   */
  tokenSource?: AttestationTokenSource;
  /** Time for one broker exchange (connect, attestation token, reply), in milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** Receives token lifecycle lines (never a token); wrapped with `redactingLogger`. Default: no logging. */
  logger?: Logger;
  /** Time and timers of the token cache. Default `systemClock` from `@confspace/core`. */
  clock?: Clock;
}

interface CacheKey {
  scope: string;
  tenant: string;
}

/**
 * An Azure `TokenCredential` for workloads in Confidential Space: each token comes from
 * the confspace token broker, which checks an attestation token bound to the TLS
 * connection and hands out an Entra access token for the scope its policy grants.
 *
 * Tokens are cached per (scope, tenant) through core's `TokenCache`: concurrent callers
 * and every SDK client sharing the credential cause one broker call, refreshed ahead of
 * expiry at the broker's `refresh_in`. `getToken` with `claims` (a CAE challenge) skips
 * the cache once. Pass one instance to all your clients.
 *
 * @example
 * ```ts
 * const credential = new ConfidentialSpaceBrokerCredential(); // CONFSPACE_BROKER_URL, CONFSPACE_BROKER_AUDIENCE
 * const blobs = new BlobServiceClient("https://account.blob.core.windows.net", credential);
 * ```
 */
export class ConfidentialSpaceBrokerCredential implements TokenCredential {
  /** The broker origin tokens come from. */
  readonly brokerUrl: string;
  /** The broker's attestation audience. */
  readonly audience: string;
  readonly #options: ResolvedOptions;
  readonly #cache: TokenCache<CacheKey, AccessToken>;

  /**
   * @throws {AzureCredentialOptionError} a missing or invalid option (`option`, `envVar` name it).
   * @throws {InvalidTokenRequestError} the audience breaks the launcher's limits.
   */
  constructor(options: BrokerCredentialOptions = {}) {
    this.#options = resolveOptions(options, process.env);
    this.brokerUrl = this.#options.brokerUrl;
    this.audience = this.#options.audience;
    this.#cache = new TokenCache<CacheKey, AccessToken>({
      name: `Azure access token from the token broker at ${this.brokerUrl}`,
      clock: this.#options.clock,
      keyId: (key) => `${key.tenant}\n${key.scope}`,
      fetch: (key, { signal, reason }) => this.#fetch(key, signal, reason),
    });
  }

  /**
   * An access token for exactly one `{resource}/.default` scope, from the cache or the
   * broker. `options.abortSignal` abandons this caller's wait (a broker call shared with
   * others goes on); `options.claims` forces a new broker call; `options.tenantId` is
   * checked against the configured `tenantId`.
   *
   * @throws {AzureScopeError} not exactly one `{resource}/.default` scope.
   * @throws {AzureTenantError} a tenant other than the configured `tenantId`.
   * @throws {BrokerError} the broker refused (`ERR_BROKER_DENIED` with `check`), is rate
   *   limiting, unreachable, not TLS 1.3, or answered outside the protocol.
   * @throws {CredentialUnavailableError} no launcher here (not in Confidential Space): a
   *   credential chain may move on.
   * @throws {TokenUnavailableError} no valid token while backing off after a failure; `cause` is that failure.
   */
  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const scope = singleScope(scopes);
    const tenant = this.#tenant(options.tenantId);
    const forceRefresh = typeof options.claims === "string" && options.claims !== "";
    const signal = toAbortSignal(options.abortSignal);
    return this.#cache.get({ scope, tenant }, { forceRefresh, ...(signal === undefined ? {} : { signal }) });
  }

  /** Stops background refreshes and rejects waiting callers; later calls reject with `ERR_DISPOSED`. */
  dispose(): void {
    this.#cache.dispose();
  }

  #tenant(requested: string | undefined): string {
    const configured = this.#options.tenantId;
    if (requested === undefined || requested === "" || configured === undefined) return configured ?? "";
    if (requested.toLowerCase() !== configured.toLowerCase()) {
      throw new AzureTenantError(
        requested,
        configured,
        `A token for tenant ${requested} was requested, but the token broker issues tokens from tenant ${configured} (its grant decides the tenant); put the resource in tenant ${configured} or ask the broker's operator for a grant in ${requested}`,
      );
    }
    return configured;
  }

  async #fetch(key: CacheKey, signal: AbortSignal, reason: string) {
    const { brokerUrl, audience, tls, tokenType, timeoutMs, source, logger, clock } = this.#options;
    logger.debug("requesting an Azure access token from the token broker", { brokerUrl, scope: key.scope, reason });
    try {
      const reply = await requestBrokerCredential({
        brokerUrl,
        audience,
        tls,
        tokenType,
        timeoutMs,
        signal,
        ...source,
        body: { provider: "azure", scope: key.scope },
      });
      const result = parseAzureReply(reply, clock.now(), brokerUrl);
      logger.info("Azure access token obtained from the token broker", {
        brokerUrl,
        scope: key.scope,
        expiresOn: new Date(result.expiresAt).toISOString(),
        refreshAfter: new Date(result.refreshAfter ?? result.expiresAt).toISOString(),
      });
      return result;
    } catch (error) {
      logger.warn("the token broker gave no Azure access token", {
        brokerUrl,
        scope: key.scope,
        code: (error as { code?: unknown }).code,
        ...(error instanceof BrokerError ? { status: error.status, check: error.check } : {}),
      });
      throw asChainable(error);
    }
  }
}

/**
 * Azure's `ChainedTokenCredential` moves on to the next credential only for errors named
 * `CredentialUnavailableError`; the launcher's subclass has its own name, so wrap it.
 */
function asChainable(error: unknown): unknown {
  if (error instanceof CredentialUnavailableError && error.name !== "CredentialUnavailableError") {
    return new CredentialUnavailableError(
      error.code,
      `ConfidentialSpaceBrokerCredential is unavailable: ${error.message}`,
      { cause: error },
    );
  }
  return error;
}

function singleScope(scopes: string | string[]): string {
  const list = typeof scopes === "string" ? [scopes] : Array.isArray(scopes) ? scopes : [];
  const [scope] = list;
  if (list.length !== 1 || typeof scope !== "string" || !/^\S+\/\.default$/.test(scope)) {
    throw new AzureScopeError(
      list.filter((item) => typeof item === "string"),
      `ConfidentialSpaceBrokerCredential takes exactly one scope of the form {resource}/.default (e.g. https://storage.azure.com/.default): the broker's client-credentials token covers one whole resource, with the permissions the app was granted`,
    );
  }
  return scope;
}
