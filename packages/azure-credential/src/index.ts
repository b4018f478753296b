export type { BrokerErrorCode, BrokerTokenType } from "@confspace/ekm-tls";
export { BROKER_AUDIENCE_ENV, BROKER_URL_ENV, BrokerError } from "@confspace/ekm-tls";
export type { BrokerCredentialOptions } from "./broker-credential.js";
export { ConfidentialSpaceBrokerCredential } from "./broker-credential.js";
export { AzureCredentialOptionError, AzureScopeError, AzureTenantError } from "./errors.js";
