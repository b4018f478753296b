import { AttestationVerifierOptionError } from "../errors.js";
import { isJsonObject } from "./payload.js";

/** Throws {@link AttestationVerifierOptionError} for `option` (a dotted path without `options.`). */
export function invalid(option: string, problem: string): never {
  throw new AttestationVerifierOptionError(option, `options.${option} ${problem}`);
}

/**
 * The options must be a plain object whose own keys are all in `known`. An unknown key is
 * refused rather than ignored: a misspelt option from a JSON config would otherwise
 * silently keep its default. (The policy's keys are `@confspace/policy`'s to check.)
 */
export function knownKeys(options: unknown, known: readonly string[]): void {
  if (!isJsonObject(options)) throw new AttestationVerifierOptionError("options", "options must be an object");
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) invalid(key, `is not an option (known: ${known.join(", ")})`);
  }
}

/** `value`, or `fallback` when it is undefined (not when it is null: null is a value, checked like any other). */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

export function duration(value: unknown, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  // Number.isFinite is false for anything but a finite number (no coercion).
  if (!Number.isFinite(value) || (value as number) < 0) invalid(option, "must be a finite number of milliseconds >= 0");
  return value as number;
}

export function positive(value: unknown, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) invalid(option, "must be a positive integer");
  return value as number;
}

export function bool(value: unknown, fallback: boolean, option: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") invalid(option, "must be a boolean");
  return value;
}
