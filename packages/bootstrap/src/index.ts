export type {
  AwsCredentialProcessOptions,
  AwsCredentialProcessOutput,
  AwsSessionIdentity,
} from "./aws-credential-process.js";
export { awsCredentialProcess, toCredentialProcessOutput } from "./aws-credential-process.js";
export type { AzureIdentityEndpoint, AzureIdentityEndpointOptions } from "./azure-identity-endpoint.js";
export {
  AZURE_IDENTITY_API_VERSION,
  AZURE_IDENTITY_PATH,
  startAzureIdentityEndpoint,
} from "./azure-identity-endpoint.js";
export type { RunBootstrapOptions } from "./bootstrap.js";
export { runBootstrap, SECRETS_DIR_ENV } from "./bootstrap.js";
export type { CertificateSectionConfig } from "./certificate-config.js";
export type { CertificateFilesOptions, CertificateRenewal, CertificateRenewalOptions } from "./certificate-files.js";
export { CERTIFICATE_FILES, startCertificateRenewal, writeCertificateFiles } from "./certificate-files.js";
export type {
  AwsProcessConfig,
  AzureEndpointConfig,
  BootstrapConfig,
  GoogleExecutableConfig,
  SecretSpec,
  SecretTarget,
} from "./config.js";
export { DEFAULT_SECRETS_DIR, loadBootstrapConfig, parseBootstrapConfig, RESERVED_ENV } from "./config.js";
export type { SecretResolutionErrorOptions } from "./errors.js";
export { BootstrapConfigError, CommandStartError, SecretResolutionError, SecretTargetError } from "./errors.js";
export type { ExecutableFailure, ExecutableSuccess, GoogleExecutableOptions } from "./google-executable-source.js";
export {
  EXECUTABLE_TOKEN_TYPE,
  GOOGLE_OUTPUT_FILE_ENV,
  googleExecutableResponse,
  writeExecutableOutputFile,
} from "./google-executable-source.js";
export type { CollaboratorConfig, GcpKmsReference } from "./references/gcp-kms.js";
export type { ReferenceScheme, SchemeContext, SchemeSession } from "./references/reference-scheme.js";
export { PLANNED_SCHEMES, REFERENCE_SCHEMES } from "./references/registry.js";
export type { VaultKvReference, VaultSectionConfig } from "./references/vault-kv.js";
export type { ResolvedSecret, ResolveSecretsOptions } from "./resolve-secrets.js";
export { resolveSecrets } from "./resolve-secrets.js";
export type { CommandExit, RunCommandOptions } from "./run-command.js";
export { FORWARDED_SIGNALS, runCommand } from "./run-command.js";
export type { SecretsDir, SecretsDirOptions } from "./secrets-dir.js";
export { createSecretsDir } from "./secrets-dir.js";
