/** Longest string shown in a clause result, in characters. */
const MAX_STRING = 200;
/** Most list entries shown in a clause result. */
const MAX_ENTRIES = 20;

/**
 * A claim value as a clause result may show it: strings, numbers, booleans and lists of
 * them as they are, shortened (a string past 200 characters, a list past 20 entries end
 * in `…`); anything else by its JSON type only (`<object>`), since a malformed claim can
 * hold anything and a result must stay small.
 */
export function describeValue(value: unknown): unknown {
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_ENTRIES).map(scalar);
    return Object.freeze(value.length > MAX_ENTRIES ? [...shown, "…"] : shown);
  }
  return scalar(value);
}

function scalar(value: unknown): unknown {
  if (typeof value === "string") return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === "number" || typeof value === "boolean") return value;
  if (value === null) return null;
  return `<${Array.isArray(value) ? "array" : typeof value}>`;
}
