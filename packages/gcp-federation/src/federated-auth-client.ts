import type { AttestationTokenSource, LauncherClient, LauncherClientOptions } from "@confspace/attestation";
import type { Clock, Logger } from "@confspace/core";
import type { IdentityPoolClient } from "google-auth-library";
import type {
  CredentialConfigOptions,
  ExecutableCredentialSource,
  ExternalAccountCredentialConfig,
  FileCredentialSource,
} from "./credential-config.js";
import { federatedAuthClientClass } from "./internal/federated-auth-client-class.js";
import type { WorkloadIdentityProvider } from "./provider-audience.js";

/** Options of {@link createFederatedAuthClient}. */
export interface FederatedAuthClientOptions {
  /**
   * The provider's resource name, `//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`.
   * Default: built from `projectNumber` + `poolId` + `providerId`, else env `CONFSPACE_GCP_AUDIENCE`.
   */
  audience?: string;
  /** The pool's project number (digits, not the project ID); with `poolId` and `providerId` instead of `audience`. */
  projectNumber?: string;
  /** Workload identity pool ID; with `projectNumber` and `providerId`. */
  poolId?: string;
  /** Provider ID; with `projectNumber` and `poolId`. */
  providerId?: string;
  /** Service account to impersonate (`roles/iam.workloadIdentityUser` for this workload). Default: none, the federated token is used directly. */
  serviceAccount?: string;
  /** Lifetime of impersonated tokens, seconds (600–43200). Default 3600. Only with `serviceAccount`. */
  serviceAccountTokenLifetimeSeconds?: number;
  /** OAuth scopes of the access token. Default `https://www.googleapis.com/auth/cloud-platform`. */
  scopes?: string | readonly string[];
  /** Universe domain. Default `googleapis.com`. Google Cloud clients given this client must use the same. */
  universeDomain?: string;
  /** STS token endpoint. Default `https://sts.{universeDomain}/v1/token`. https, or http on localhost only. */
  tokenUrl?: string;
  /** IAM Credentials endpoint for impersonation. Default `https://iamcredentials.{universeDomain}`. https, or http on localhost only. */
  iamCredentialsEndpoint?: string;
  /** Project billed for API quota (`x-goog-user-project`). Default: none (the resource's project). */
  quotaProjectId?: string;
  /**
   * Audience of a custom attestation token, for a provider whose allowed audiences do not
   * include `https://sts.googleapis.com` (e.g. `https://iam.googleapis.com/projects/…/providers/X`,
   * the default of a provider created without `--allowed-audiences`). Default: none, the
   * launcher's default token is used.
   */
  tokenAudience?: string;
  /** The default token file. Default: env `CONFSPACE_TOKEN_FILE`, then `/run/container_launcher/attestation_verifier_claims_token`. */
  tokenFile?: string;
  /** The launcher client, or its options (socket path, timeouts). Default: `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket. */
  launcher?: LauncherClient | LauncherClientOptions;
  /** Stop using an attestation token this long before its `exp`, ms. Default 30 000 (the token sources' default). */
  expirySkewMs?: number;
  /** Any attestation token source, replacing `tokenAudience`, `tokenFile` and `launcher` (tests, custom setups). Not disposed by this client. */
  tokenSource?: AttestationTokenSource;
  /** Receives refresh events (never a token); wrapped with `redactingLogger`. Default: no logging. */
  logger?: Logger;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

/**
 * A google-auth-library `IdentityPoolClient` whose subject token is the Confidential Space
 * attestation token, made by {@link createFederatedAuthClient}. Pass it as `authClient` to
 * `@google-cloud/*` clients: it is an instance of the app's own `IdentityPoolClient` (and
 * `AuthClient`). Each instance keeps its own federated token, so one client per
 * collaborator never mixes tokens. Failed refreshes reject with `GcpFederationError`.
 */
export interface FederatedAuthClient extends IdentityPoolClient {
  /** The provider this client exchanges tokens at. */
  readonly provider: WorkloadIdentityProvider;
  /** The impersonated service account, if any. */
  readonly serviceAccount: string | undefined;
  /** Where attestation tokens come from. */
  readonly tokenSource: AttestationTokenSource;
  /**
   * The equivalent `external_account` credential configuration, for gcloud
   * (`gcloud auth login --cred-file=…`), `GOOGLE_APPLICATION_CREDENTIALS` and Google's
   * libraries in other languages: `credential_source.file` is the launcher's token file,
   * or, with `executable`, `credential_source.executable` runs a command for each token.
   * Throws `GcpFederationOptionError` (option `subjectTokenFile` or `executable`) when it cannot.
   */
  toCredentialConfig(
    options?: CredentialConfigOptions & { executable?: undefined },
  ): ExternalAccountCredentialConfig<FileCredentialSource>;
  toCredentialConfig(
    options: CredentialConfigOptions & { executable: NonNullable<CredentialConfigOptions["executable"]> },
  ): ExternalAccountCredentialConfig<ExecutableCredentialSource>;
  toCredentialConfig(options?: CredentialConfigOptions): ExternalAccountCredentialConfig;
  /** Stops the token source this client created (an injected `tokenSource` is left alone). */
  dispose(): void;
}

/**
 * Creates a {@link FederatedAuthClient}: a google-auth-library external-account client
 * (`IdentityPoolClient` with a programmatic subject-token supplier) that exchanges the
 * Confidential Space attestation token at a workload identity pool provider, optionally
 * impersonating a service account. Options are validated here; nothing is fetched until
 * the first call. google-auth-library (a peer dependency) is loaded when the first client
 * is created, not when this package is imported.
 *
 * @example
 * ```ts
 * import { KeyManagementServiceClient } from "@google-cloud/kms";
 * import { createFederatedAuthClient } from "@confspace/gcp-federation";
 *
 * const authClient = createFederatedAuthClient({
 *   audience: "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier",
 * });
 * const kms = new KeyManagementServiceClient({ authClient });
 * const [{ plaintext }] = await kms.decrypt({ name: keyName, ciphertext });
 * ```
 */
export function createFederatedAuthClient(options: FederatedAuthClientOptions = {}): FederatedAuthClient {
  return new (federatedAuthClientClass())(options);
}
