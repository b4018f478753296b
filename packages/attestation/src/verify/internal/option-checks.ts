import { AttestationVerifierOptionError } from "../errors.js";

/** Throws {@link AttestationVerifierOptionError} for `option` (a dotted path without `options.`). */
export function invalid(option: string, problem: string): never {
  throw new AttestationVerifierOptionError(option, `options.${option} ${problem}`);
}

/**
 * `value` must be a plain object whose own keys are all in `known`. An unknown key is
 * refused rather than ignored: `imageDigest` for `imageDigests` from a JSON config would
 * otherwise silently switch the digest pin off.
 */
export function knownKeys(value: unknown, known: readonly string[], path: string | undefined): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    if (path === undefined) throw new AttestationVerifierOptionError("options", "options must be an object");
    invalid(path, "must be an object");
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const option = path === undefined ? key : `${path}.${key}`;
      invalid(option, `is not an option (known: ${known.join(", ")})`);
    }
  }
}

export function duration(value: unknown, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    invalid(option, "must be a finite number of milliseconds >= 0");
  }
  return value;
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
