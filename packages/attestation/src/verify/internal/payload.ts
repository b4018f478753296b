/** A payload whose signature verified, not yet known to match `ConfidentialSpaceClaims`. */
export type Payload = Readonly<Record<string, unknown>>;

/** A JSON object: not `null`, not an array. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
