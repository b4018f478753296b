import { reject } from "../errors.js";

/** A verified payload, not yet known to match {@link ConfidentialSpaceClaims}. */
export type Payload = Readonly<Record<string, unknown>>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The value at a dotted `path` (`submods.container.image_digest`), or `undefined` when a
 * segment is absent. A present intermediate that is not an object fails with `claim_type`.
 */
export function lookup(payload: Payload, path: string): unknown {
  let current: unknown = payload;
  const segments = path.split(".");
  for (const [index, segment] of segments.entries()) {
    if (current === undefined) return undefined;
    if (!isPlainObject(current))
      throw reject(
        "claim_type",
        `"${segments.slice(0, index).join(".")}" must be an object`,
        segments.slice(0, index).join("."),
      );
    current = Object.hasOwn(current, segment) ? current[segment] : undefined;
  }
  return current;
}

/** A required string claim: absent → `missing_claim`, not a string → `claim_type`. */
export function requireString(payload: Payload, path: string): string {
  const value = lookup(payload, path);
  if (value === undefined) throw reject("missing_claim", `the token has no "${path}" claim`, path);
  if (typeof value !== "string") throw reject("claim_type", `"${path}" must be a string`, path);
  return value;
}

/** A required boolean claim (JSON `true`/`false`; the string `"true"` is refused). */
export function requireBoolean(payload: Payload, path: string): boolean {
  const value = lookup(payload, path);
  if (value === undefined) throw reject("missing_claim", `the token has no "${path}" claim`, path);
  if (typeof value !== "boolean") throw reject("claim_type", `"${path}" must be a boolean`, path);
  return value;
}

/**
 * An array-of-strings claim, checked with `Array.isArray` first (a string is not an
 * array: `"UNSTABLE".includes("STABLE")` is true). Absent → `undefined`.
 */
export function optionalStringArray(payload: Payload, path: string): readonly string[] | undefined {
  const value = lookup(payload, path);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
    throw reject("claim_type", `"${path}" must be an array of strings`, path);
  }
  return value;
}

/** Like {@link optionalStringArray}, absent → `missing_claim`. */
export function requireStringArray(payload: Payload, path: string): readonly string[] {
  const value = optionalStringArray(payload, path);
  if (value === undefined) throw reject("missing_claim", `the token has no "${path}" claim`, path);
  return value;
}
