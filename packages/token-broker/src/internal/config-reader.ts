import { BrokerConfigError } from "../errors.js";

/** Path helpers: `a.b`, `a[1]`. Keys that are not identifiers are quoted: `a["x y"]`. */
export function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function fail(field: string, message: string): never {
  throw new BrokerConfigError(message, { field });
}

export type Plain = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Plain {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * An object with only `allowed` keys. Unknown keys are errors (typos must not silently
 * widen or drop a rule). `hints` explain why a tempting key is refused.
 */
export function object(value: unknown, path: string, allowed: readonly string[], hints: Plain = {}): Plain {
  if (!isPlainObject(value)) fail(path, "must be an object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const hint = typeof hints[key] === "string" ? ` (${hints[key]})` : "";
      fail(child(path, key), `unknown field${hint}`);
    }
  }
  return value;
}

/** A plain object used as a map with arbitrary keys. */
export function record(value: unknown, path: string): Plain {
  if (!isPlainObject(value)) fail(path, "must be an object");
  return value;
}

export interface StringRules {
  pattern?: RegExp;
  /** Said when `pattern` does not match. */
  patternMessage?: string;
  maxLength?: number;
}

export function string(value: unknown, path: string, rules: StringRules = {}): string {
  if (typeof value !== "string" || value.length === 0) fail(path, "must be a non-empty string");
  if (value.length > (rules.maxLength ?? 2048)) fail(path, `must be at most ${rules.maxLength ?? 2048} characters`);
  if (rules.pattern && !rules.pattern.test(value)) fail(path, rules.patternMessage ?? "has an invalid format");
  return value;
}

export function optionalString(value: unknown, path: string, rules?: StringRules): string | undefined {
  return value === undefined ? undefined : string(value, path, rules);
}

export function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) fail(path, "must be an integer");
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}`);
  return value;
}

export function optionalInteger(value: unknown, path: string, min: number, max: number): number | undefined {
  return value === undefined ? undefined : integer(value, path, min, max);
}

export function positiveNumber(value: unknown, path: string, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail(path, "must be a positive number");
  if (value > max) fail(path, `must be at most ${max}`);
  return value;
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") fail(path, "must be true or false");
  return value;
}

export function oneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
  if (typeof value !== "string" || !choices.includes(value as T)) fail(path, `must be one of ${choices.join(", ")}`);
  return value as T;
}

/** A non-empty array of distinct strings, each checked with `rules`. */
export function stringList(value: unknown, path: string, rules: StringRules = {}): string[] {
  if (!Array.isArray(value)) fail(path, "must be a list");
  if (value.length === 0) fail(path, "must not be empty (omit the field instead)");
  const out = value.map((item, index) => string(item, child(path, index), rules));
  const seen = new Set<string>();
  out.forEach((item, index) => {
    if (seen.has(item)) fail(child(path, index), "is listed twice");
    seen.add(item);
  });
  return out;
}

export function optionalStringList(value: unknown, path: string, rules?: StringRules): string[] | undefined {
  return value === undefined ? undefined : stringList(value, path, rules);
}

/** A non-empty array, each item read by `read`. */
export function list<T>(value: unknown, path: string, read: (item: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) fail(path, "must be a list");
  if (value.length === 0) fail(path, "must not be empty (omit the field instead)");
  return value.map((item, index) => read(item, child(path, index)));
}

/** Drops `undefined` fields so the result is a clean copy. */
export function compact<T extends Plain>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}
