import { ConfspaceError, InvalidOptionError } from "@confspace/core";

/**
 * An option of {@link ConfidentialSpaceBrokerCredential} is missing or invalid; `option`
 * names it and `envVar` the environment variable that could have supplied it. Thrown by
 * the constructor, never by `getToken`. Code `ERR_INVALID_OPTION`.
 */
export class AzureCredentialOptionError extends InvalidOptionError {}

/**
 * `getToken` was called with other than exactly one `{resource}/.default` scope. A broker
 * token comes from the client-credentials grant, which covers one resource per token
 * (`https://storage.azure.com/.default`). Code `ERR_INVALID_SCOPE`.
 */
export class AzureScopeError extends ConfspaceError {
  declare readonly code: "ERR_INVALID_SCOPE";
  /** The scopes that were asked for. */
  readonly scopes: readonly string[];

  constructor(scopes: readonly string[], message: string) {
    super("ERR_INVALID_SCOPE", message);
    this.scopes = scopes;
  }
}

/**
 * `getToken` asked for a tenant other than the configured `tenantId`. The broker's grant
 * decides the tenant (the protocol has no tenant field), so a token for another tenant
 * cannot be had; Azure Storage asks for one when the account lives in another tenant.
 * Code `ERR_TENANT_MISMATCH`.
 */
export class AzureTenantError extends ConfspaceError {
  declare readonly code: "ERR_TENANT_MISMATCH";
  /** The tenant `getToken` asked for. */
  readonly requestedTenantId: string;
  /** The configured tenant (the one the broker's grant issues tokens from). */
  readonly tenantId: string;

  constructor(requestedTenantId: string, tenantId: string, message: string) {
    super("ERR_TENANT_MISMATCH", message);
    this.requestedTenantId = requestedTenantId;
    this.tenantId = tenantId;
  }
}
