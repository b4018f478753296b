export type { Broker, BrokerAddress, CloseOptions, CreateBrokerOptions } from "./broker.js";
export { createBroker } from "./broker.js";
export type {
  AttestationConfig,
  AwsCredentialsEnvConfig,
  AwsGrant,
  AwsUpstreamConfig,
  AzureGrant,
  AzureTenantConfig,
  BrokerConfig,
  BrokerPolicy,
  CertificateGrant,
  CertificatesConfig,
  GrantConfig,
  GrantMatch,
  LimitsConfig,
  ListenConfig,
  MetricsConfig,
  RateLimitConfig,
  SourceRateLimitConfig,
  TlsConfig,
  UpstreamsConfig,
} from "./config-types.js";
export { BROKER_CONFIG_ENV, BROKER_LOG_LEVEL_ENV, BROKER_WORKERS_ENV } from "./env.js";
export type { BrokerConfigErrorOptions } from "./errors.js";
export { BrokerConfigError } from "./errors.js";
export type {
  KeyServiceConfig,
  KeyServiceKeyConfig,
  KeyServiceListenConfig,
  KeyServiceRootConfig,
  KeyServiceTlsConfig,
  KmsWrappedRootConfig,
} from "./key-service/config.js";
export type { ParseBrokerConfigOptions } from "./load-config.js";
export { loadBrokerConfig, parseBrokerConfig } from "./load-config.js";
export type { RequestOutcome } from "./metrics.js";
export { BrokerMetrics, PROMETHEUS_CONTENT_TYPE } from "./metrics.js";
export { validateBrokerConfig } from "./validate-config.js";
