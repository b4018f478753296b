/**
 * Environment variables read by `VaultJwtClient` when an option is not given. Each
 * `CONFSPACE_*` variable wins over Vault's own variable of the same meaning, so a
 * container can carry Vault CLI settings and still point confspace elsewhere.
 */

/** Vault address (`https://vault.example.com:8200`). Falls back to {@link VAULT_ADDR_ENV}. */
export const ADDR_ENV = "CONFSPACE_VAULT_ADDR";
/** JWT auth role name. */
export const ROLE_ENV = "CONFSPACE_VAULT_ROLE";
/** Path of the JWT auth mount (default `jwt`). */
export const AUTH_MOUNT_ENV = "CONFSPACE_VAULT_AUTH_MOUNT";
/** `aud` of the custom attestation token sent to Vault (the role's `bound_audiences`). */
export const AUDIENCE_ENV = "CONFSPACE_VAULT_AUDIENCE";
/** Vault Enterprise / OpenBao namespace. Falls back to {@link VAULT_NAMESPACE_ENV}. */
export const NAMESPACE_ENV = "CONFSPACE_VAULT_NAMESPACE";
/** PEM file of the CA(s) to trust for Vault's certificate. Falls back to {@link VAULT_CACERT_ENV}. */
export const CACERT_ENV = "CONFSPACE_VAULT_CACERT";
/** PEM file of the client certificate (mTLS). Falls back to {@link VAULT_CLIENT_CERT_ENV}. */
export const CLIENT_CERT_ENV = "CONFSPACE_VAULT_CLIENT_CERT";
/** PEM file of the client certificate's private key (mTLS). Falls back to {@link VAULT_CLIENT_KEY_ENV}. */
export const CLIENT_KEY_ENV = "CONFSPACE_VAULT_CLIENT_KEY";

/** Vault CLI's address variable, honoured after {@link ADDR_ENV}. */
export const VAULT_ADDR_ENV = "VAULT_ADDR";
/** Vault CLI's namespace variable, honoured after {@link NAMESPACE_ENV}. */
export const VAULT_NAMESPACE_ENV = "VAULT_NAMESPACE";
/** Vault CLI's CA file variable, honoured after {@link CACERT_ENV}. */
export const VAULT_CACERT_ENV = "VAULT_CACERT";
/** Vault CLI's client certificate file variable, honoured after {@link CLIENT_CERT_ENV}. */
export const VAULT_CLIENT_CERT_ENV = "VAULT_CLIENT_CERT";
/** Vault CLI's client key file variable, honoured after {@link CLIENT_KEY_ENV}. */
export const VAULT_CLIENT_KEY_ENV = "VAULT_CLIENT_KEY";
/** Vault CLI's TLS server name (SNI and certificate name) variable. */
export const VAULT_TLS_SERVER_NAME_ENV = "VAULT_TLS_SERVER_NAME";
