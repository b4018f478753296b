export type { BrokerErrorCode, BrokerTokenType } from "@confspace/ekm-tls";
export { BrokerError, ENV_BROKER_AUDIENCE, ENV_BROKER_URL } from "@confspace/ekm-tls";
export type { BrokerCredentialOptions } from "./broker-credential.js";
export { ConfidentialSpaceBrokerCredential } from "./broker-credential.js";
export { AzureCredentialOptionError, AzureScopeError, AzureTenantError } from "./errors.js";
