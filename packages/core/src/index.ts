export type { ConfspaceErrorOptions } from "./errors.js";
export { ConfspaceError, CredentialUnavailableError } from "./errors.js";
export type { JsonLoggerOptions, LogFields, Logger, LogLevel } from "./logger.js";
export { jsonLogger, noopLogger, redactingLogger } from "./logger.js";
export { isSecretKey, REDACTED, redact, redactString } from "./redact.js";
