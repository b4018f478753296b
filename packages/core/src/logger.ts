import { redact, redactString } from "./redact.js";

/** Structured fields attached to a log line. Redacted before they are written. */
export type LogFields = Record<string, unknown>;

/**
 * The logging interface every confspace package accepts: `(message, fields?)`, the
 * shape of `console` and winston, which can be passed directly. pino and bunyan take
 * `(fields, message)`; adapt them with `{ info: (m, f) => pino.info(f, m), … }`.
 * confspace never forces a logging dependency on users.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Log levels in increasing severity. */
export type LogLevel = keyof Logger;

// Stryker disable next-line StringLiteral: a blank "debug" gives it index -1 as the minimum too, so every level is still written at level debug; the other three are pinned.
const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** A logger that discards everything. The default wherever a `logger` option is omitted. */
export const noopLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** Options of {@link jsonLogger}. */
export interface JsonLoggerOptions {
  /** Lowest level written. Default `"info"`. */
  level?: LogLevel;
  /** Where lines go. Default `process.stderr`. */
  stream?: { write(line: string): unknown };
  /** Fields added to every line (e.g. `{ service: "broker" }`). Redacted like the rest. */
  base?: LogFields;
  /** Clock for the `time` field, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * A logger writing one JSON object per line (`{"time","level","msg",...fields}`),
 * with every message and field passed through {@link redact}.
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const minimum = LEVELS.indexOf(options.level ?? "info");
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const base = options.base ? redact(options.base) : {};
  const write = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < minimum) return;
    const line = {
      time: new Date(now()).toISOString(),
      level,
      msg: redactString(message),
      ...base,
      ...(fields ? redact(fields) : {}),
    };
    stream.write(`${JSON.stringify(line)}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/**
 * Wraps any {@link Logger} so that messages and fields are redacted before they
 * reach it. Packages wrap the user's logger once, at construction.
 */
export function redactingLogger(logger: Logger): Logger {
  const wrap = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (fields === undefined) logger[level](redactString(message));
    else logger[level](redactString(message), redact(fields));
  };
  return { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}
