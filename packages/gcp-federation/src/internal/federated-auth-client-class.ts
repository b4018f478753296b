import {
  type AttestationTokenSource,
  customTokenSource,
  type DefaultTokenSource,
  defaultTokenSource,
} from "@confspace/attestation";
import { type Logger, noopLogger, redactingLogger, systemClock } from "@confspace/core";
import type { IdentityPoolClient } from "google-auth-library";
import type {
  CredentialConfigOptions,
  ExecutableCredentialSource,
  ExternalAccountCredentialConfig,
  FileCredentialSource,
} from "../credential-config.js";
import { GcpFederationOptionError } from "../errors.js";
import type { FederatedAuthClient, FederatedAuthClientOptions } from "../federated-auth-client.js";
import type { WorkloadIdentityProvider } from "../provider-audience.js";
import { loadGoogleAuth } from "./load-google-auth.js";
import { JWT_TOKEN_TYPE, type ResolvedOptions, resolveOptions } from "./options.js";
import { refreshError } from "./refresh-error.js";
import { attestationTokenSupplier } from "./subject-token-supplier.js";

type FederatedAuthClientClass = new (options: FederatedAuthClientOptions) => FederatedAuthClient;

let defined: FederatedAuthClientClass | undefined;

/**
 * The class behind {@link FederatedAuthClient}, defined on first use: it extends
 * google-auth-library's `IdentityPoolClient`, which is loaded only then (see
 * load-google-auth.ts).
 */
export function federatedAuthClientClass(): FederatedAuthClientClass {
  defined ??= define(loadGoogleAuth().IdentityPoolClient);
  return defined;
}

function define(Base: typeof IdentityPoolClient): FederatedAuthClientClass {
  return class FederatedAuthClient extends Base {
    /** The provider this client exchanges tokens at. */
    readonly provider: WorkloadIdentityProvider;
    /** The impersonated service account, if any. */
    readonly serviceAccount: string | undefined;
    /** Where attestation tokens come from. */
    readonly tokenSource: AttestationTokenSource;
    readonly #resolved: ResolvedOptions;
    readonly #ownsSource: boolean;
    readonly #logger: Logger;

    constructor(options: FederatedAuthClientOptions = {}) {
      const resolved = resolveOptions(options);
      const clock = options.clock ?? systemClock;
      const logger = options.logger ? redactingLogger(options.logger) : noopLogger;
      const source =
        options.tokenSource ??
        (resolved.tokenAudience !== undefined
          ? customTokenSource({
              audience: resolved.tokenAudience,
              launcher: options.launcher,
              expirySkewMs: options.expirySkewMs,
              clock,
              logger: options.logger,
            })
          : defaultTokenSource({
              tokenFile: options.tokenFile,
              launcher: options.launcher,
              expirySkewMs: options.expirySkewMs,
              clock,
              logger: options.logger,
            }));
      super({
        audience: resolved.provider.audience,
        subject_token_type: JWT_TOKEN_TYPE,
        token_url: resolved.tokenUrl,
        universe_domain: resolved.universeDomain,
        scopes: resolved.scopes,
        ...(resolved.quotaProjectId !== undefined && { quota_project_id: resolved.quotaProjectId }),
        ...(resolved.impersonationUrl !== undefined && {
          service_account_impersonation_url: resolved.impersonationUrl,
        }),
        ...(resolved.lifetimeSeconds !== undefined && {
          service_account_impersonation: { token_lifetime_seconds: resolved.lifetimeSeconds },
        }),
        subject_token_supplier: attestationTokenSupplier(source, {
          audience: resolved.provider.audience,
          serviceAccount: resolved.serviceAccount,
          clock,
          logger,
        }),
      });
      this.provider = resolved.provider;
      this.serviceAccount = resolved.serviceAccount;
      this.tokenSource = source;
      this.#resolved = resolved;
      this.#ownsSource = options.tokenSource === undefined;
      this.#logger = logger;
    }

    /**
     * Exchanges a fresh attestation token for a federated (and, with `serviceAccount`, an
     * impersonated) token. google-auth-library calls this lazily, 5 minutes before expiry,
     * merging concurrent calls; failures become {@link GcpFederationError}.
     */
    protected override async refreshAccessTokenAsync(): ReturnType<IdentityPoolClient["refreshAccessTokenAsync"]> {
      try {
        const credentials = await super.refreshAccessTokenAsync();
        this.#logger.debug("federated access token refreshed", {
          audience: this.provider.audience,
          serviceAccount: this.serviceAccount,
          expiresAt: credentials.expiry_date ? new Date(credentials.expiry_date).toISOString() : undefined,
        });
        return credentials;
      } catch (error) {
        const classified = refreshError(error, {
          audience: this.provider.audience,
          serviceAccount: this.serviceAccount,
          impersonationUrl: this.#resolved.impersonationUrl,
        });
        this.#logger.warn("federated access token refresh failed", {
          audience: this.provider.audience,
          code: (classified as { code?: unknown }).code,
          reason: (classified as { reason?: unknown }).reason,
        });
        throw classified;
      }
    }

    /**
     * The equivalent `external_account` credential configuration, for gcloud
     * (`gcloud auth login --cred-file=…`), `GOOGLE_APPLICATION_CREDENTIALS` and Google's
     * libraries in other languages: `credential_source.file` is the launcher's token file,
     * or, with `executable`, `credential_source.executable` runs a command for each token.
     */
    toCredentialConfig(
      options?: CredentialConfigOptions & { executable?: undefined },
    ): ExternalAccountCredentialConfig<FileCredentialSource>;
    toCredentialConfig(
      options: CredentialConfigOptions & { executable: NonNullable<CredentialConfigOptions["executable"]> },
    ): ExternalAccountCredentialConfig<ExecutableCredentialSource>;
    toCredentialConfig(options?: CredentialConfigOptions): ExternalAccountCredentialConfig;
    toCredentialConfig(options: CredentialConfigOptions = {}): ExternalAccountCredentialConfig {
      const resolved = this.#resolved;
      const source = options.executable ? executableSource(options) : undefined;
      const file =
        source !== undefined
          ? undefined
          : (options.subjectTokenFile ??
            (this.#ownsSource || isDefaultSource(this.tokenSource) ? defaultFile(this.tokenSource) : undefined));
      if (file === undefined && source === undefined) {
        throw new GcpFederationOptionError(
          "subjectTokenFile",
          "This client does not use the launcher's default token file (it uses custom-audience tokens or an injected source), and tools outside Node read the subject token from a file: pass toCredentialConfig({ subjectTokenFile }) and keep that file fresh.",
        );
      }
      return {
        type: "external_account",
        audience: resolved.provider.audience,
        subject_token_type: JWT_TOKEN_TYPE,
        token_url: resolved.tokenUrl,
        credential_source: source ?? { file: file as string },
        ...(resolved.impersonationUrl !== undefined && {
          service_account_impersonation_url: resolved.impersonationUrl,
        }),
        ...(resolved.lifetimeSeconds !== undefined && {
          service_account_impersonation: { token_lifetime_seconds: resolved.lifetimeSeconds },
        }),
        ...(resolved.quotaProjectId !== undefined && { quota_project_id: resolved.quotaProjectId }),
        ...(resolved.universeDomain !== "googleapis.com" && { universe_domain: resolved.universeDomain }),
      };
    }

    /** Stops the token source this client created (an injected `tokenSource` is left alone). */
    dispose(): void {
      if (this.#ownsSource) (this.tokenSource as { dispose?: () => void }).dispose?.();
    }
  };
}

function executableSource(options: CredentialConfigOptions): ExecutableCredentialSource {
  const { executable, subjectTokenFile } = options;
  if (executable === undefined) throw new Error("unreachable");
  if (subjectTokenFile !== undefined) {
    throw new GcpFederationOptionError(
      "executable",
      "Pass either executable or subjectTokenFile to toCredentialConfig(), not both.",
    );
  }
  if (typeof executable.command !== "string" || executable.command.trim() === "") {
    throw new GcpFederationOptionError("executable", "executable.command must be a non-empty command line.");
  }
  const timeout = executable.timeoutMillis ?? 30_000;
  if (!Number.isInteger(timeout) || timeout < 5_000 || timeout > 120_000) {
    throw new GcpFederationOptionError(
      "executable",
      "executable.timeoutMillis must be a whole number of ms from 5000 to 120000 (Google's limits).",
    );
  }
  return {
    executable: {
      command: executable.command,
      timeout_millis: timeout,
      ...(executable.outputFile !== undefined && { output_file: executable.outputFile }),
    },
  };
}

function isDefaultSource(source: AttestationTokenSource): source is DefaultTokenSource {
  return typeof (source as Partial<DefaultTokenSource>).tokenFile === "string";
}

function defaultFile(source: AttestationTokenSource): string | undefined {
  return isDefaultSource(source) ? source.tokenFile : undefined;
}
