export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export { crc32c } from "./crc32c.js";
export type { ConfspaceErrorOptions } from "./errors.js";
export { ConfspaceError, CredentialUnavailableError, InvalidOptionError, TokenUnavailableError } from "./errors.js";
export type { JsonLoggerOptions, LogFields, Logger, LogLevel } from "./logger.js";
export { jsonLogger, noopLogger, redactingLogger } from "./logger.js";
export type { EnvSource, FoundSetting, RequireOptionOrEnvOptions } from "./option-or-env.js";
export { optionOrEnv, requireOptionOrEnv } from "./option-or-env.js";
export { isSecretKey, REDACTED, redact, redactString } from "./redact.js";
export type {
  Expiring,
  FetchContext,
  GetOptions,
  RefreshReason,
  TokenCacheEvent,
  TokenCacheOptions,
} from "./token-cache.js";
export { TokenCache } from "./token-cache.js";
