export type { BrokerErrorCode } from "@confspace/ekm-tls";
export { BROKER_AUDIENCE_ENV, BROKER_URL_ENV, BrokerError } from "@confspace/ekm-tls";
export type { BrokerOptions } from "./broker.js";
export { fromBroker } from "./broker.js";
export type { AwsStsErrorOptions, AwsStsOperation } from "./errors.js";
export { AwsCredentialOptionError, AwsCredentialResponseError, AwsStsError } from "./errors.js";
export type { ConfspaceAwsCredentialProvider } from "./provider.js";
export type { WebIdentityOptions } from "./web-identity.js";
export { fromWebIdentity } from "./web-identity.js";
