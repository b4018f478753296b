import { InvalidOptionError, optionOrEnv } from "@confspace/core";

/** Reads an option that must be a positive number (ms, counts), or throws {@link InvalidOptionError} naming it. */
export function positiveNumber(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const ok = typeof value === "number" && value > 0 && (integer ? Number.isInteger(value) : !Number.isNaN(value));
  if (!ok) {
    throw new InvalidOptionError(
      name,
      `option ${name} must be a positive ${integer ? "integer" : "number"} (got ${String(value)})`,
    );
  }
  return value;
}

/** Reads an option that must be zero or a positive number of ms, or throws {@link InvalidOptionError} naming it. */
export function nonNegativeMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new InvalidOptionError(name, `option ${name} must be a finite number of ms ≥ 0 (got ${String(value)})`);
  }
  return value;
}

/** An environment variable's value, with empty strings treated as unset. */
export function envValue(name: string): string | undefined {
  return optionOrEnv(undefined, name)?.value;
}
