/** Environment variable the CLI reads the configuration path from when `--config` is not given. */
export const BROKER_CONFIG_ENV = "CONFSPACE_BROKER_CONFIG";

/** Environment variable setting the CLI's log level (`debug`, `info`, `warn`, `error`) when `--log-level` is not given. */
export const BROKER_LOG_LEVEL_ENV = "CONFSPACE_BROKER_LOG_LEVEL";

/** Environment variable setting the CLI's number of worker processes when `--workers` is not given. */
export const BROKER_WORKERS_ENV = "CONFSPACE_BROKER_WORKERS";
