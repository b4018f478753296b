export type {
  CredentialConfigOptions,
  ExecutableCredentialSource,
  ExternalAccountCredentialConfig,
  FileCredentialSource,
} from "./credential-config.js";
export type {
  GcpFederationErrorOptions,
  GcpFederationStage,
  GoogleApiErrorOptions,
  GoogleErrorInfo,
} from "./errors.js";
export { GcpFederationError, GcpFederationOptionError, GoogleApiError } from "./errors.js";
export type { FederatedAuthClient, FederatedAuthClientOptions } from "./federated-auth-client.js";
export { createFederatedAuthClient } from "./federated-auth-client.js";
export { toGoogleApiError } from "./google-api-error.js";
export type { WorkloadIdentityProvider } from "./provider-audience.js";
export { GCP_AUDIENCE_ENV, parseProviderAudience, providerAudience } from "./provider-audience.js";
