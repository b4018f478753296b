export {
  ADDR_ENV,
  AUDIENCE_ENV,
  AUTH_MOUNT_ENV,
  CACERT_ENV,
  CLIENT_CERT_ENV,
  CLIENT_KEY_ENV,
  NAMESPACE_ENV,
  ROLE_ENV,
  VAULT_ADDR_ENV,
  VAULT_CACERT_ENV,
  VAULT_CLIENT_CERT_ENV,
  VAULT_CLIENT_KEY_ENV,
  VAULT_NAMESPACE_ENV,
  VAULT_TLS_SERVER_NAME_ENV,
} from "./env.js";
export type { VaultErrorOptions } from "./errors.js";
export {
  AttestationTokenExpiredError,
  VaultError,
  VaultLoginError,
  VaultOptionError,
  VaultResponseError,
  VaultUnavailableError,
} from "./errors.js";
export type { KvCallOptions, KvSecret, KvSecretMetadata, KvVersionMetadata } from "./kv-v2.js";
export { KvV2 } from "./kv-v2.js";
export type { VaultJwtClientOptions, VaultTlsOptions } from "./options.js";
export type { TransitCallOptions, TransitDataKey } from "./transit.js";
export { Transit } from "./transit.js";
export type { VaultRequest, VaultResponse, VaultTokenInfo } from "./vault-jwt-client.js";
export { isForbidden, VaultJwtClient } from "./vault-jwt-client.js";
