/** Longest string shown, in characters. */
const MAX_STRING = 200;
const MAX_ENTRIES = 20;

/** Claims whose values are never shown: nonces bind sessions, a container's env and args may hold secrets. */
const HIDDEN = [/^eat_nonce$/, /^submods\.container\.(env|args|cmd_override|env_override)(\.|$)/];

/** Reads a dotted claim path; `undefined` when absent or blocked by a non-object. */
export function claimAtPath(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(part)) return undefined;
      value = value[Number(part)];
      continue;
    }
    if (!Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Whether a claim's value may be shown. */
export function isShownClaim(path: string): boolean {
  return !HIDDEN.some((pattern) => pattern.test(path));
}

/** A claim's value as an explanation may show it (`undefined` for absent or hidden claims). */
export function shownValue(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (!isShownClaim(path)) return undefined;
  return shorten(claimAtPath(claims, path));
}

function shorten(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ENTRIES).map((item) => {
      // image_signatures: only the key IDs.
      if (typeof item === "object" && item !== null && "key_id" in item)
        return { key_id: (item as { key_id: unknown }).key_id };
      return scalar(item);
    });
    return value.length > MAX_ENTRIES ? [...items, "…"] : items;
  }
  return scalar(value);
}

function scalar(value: unknown): unknown {
  if (typeof value === "string") return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === "object" && value !== null) return `<${Array.isArray(value) ? "array" : "object"}>`;
  return value;
}

/** A value for a message: JSON, shortened. */
export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "absent" : text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
