// Strict readers for the bootstrap configuration: every unknown key, missing field or
// wrong type is a BootstrapConfigError naming where it is.
import { BootstrapConfigError } from "../errors.js";

export type Plain = Record<string, unknown>;

export function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function fail(path: string, message: string): never {
  throw new BootstrapConfigError(path, message);
}

export function isPlainObject(value: unknown): value is Plain {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An object with only `allowed` keys; `hints` explain why a tempting key is refused. */
export function object(value: unknown, path: string, allowed: readonly string[], hints: Plain = {}): Plain {
  if (!isPlainObject(value)) fail(path, "must be an object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const hint = typeof hints[key] === "string" ? ` (${hints[key]})` : "";
      fail(child(path, key), `unknown field${hint}; allowed: ${allowed.join(", ")}`);
    }
  }
  return value;
}

export function string(value: unknown, path: string, pattern?: RegExp, patternMessage?: string): string {
  if (typeof value !== "string" || value.length === 0) fail(path, "must be a non-empty string");
  if (value.length > 8192) fail(path, "must be at most 8192 characters");
  if (pattern && !pattern.test(value)) fail(path, patternMessage ?? "has an invalid format");
  return value;
}

export function optionalString(value: unknown, path: string, pattern?: RegExp, message?: string): string | undefined {
  return value === undefined ? undefined : string(value, path, pattern, message);
}

export function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) fail(path, "must be an integer");
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}`);
  return value;
}

/** An `http(s)` URL; plain `http` only to a loopback host. */
export function url(value: unknown, path: string): string {
  const text = string(value, path);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    fail(path, "must be a URL");
  }
  if (parsed.protocol === "https:") return text;
  if (parsed.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)) return text;
  fail(path, "must be an https URL (http only to 127.0.0.1, localhost or [::1])");
}
