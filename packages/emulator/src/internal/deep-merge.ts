/** A JSON object that is not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Returns a fresh deep copy of `base` with `overlay` merged in: objects merge key by
 * key, arrays and scalars replace, and `null` deletes the key. Neither input is changed.
 */
export function deepMerge(base: Record<string, unknown>, overlay: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(base);
  mergeInto(out, overlay);
  return out;
}

function mergeInto(target: Record<string, unknown>, overlay: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(overlay)) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
    if (value === null) {
      delete target[key];
    } else if (value === undefined) {
      // `undefined` leaves the base value alone, as an omitted key would.
    } else if (isPlainObject(value)) {
      const current = target[key];
      const next: Record<string, unknown> = isPlainObject(current) ? current : {};
      mergeInto(next, value);
      target[key] = next;
    } else {
      target[key] = structuredClone(value);
    }
  }
}

/** Freezes an object graph in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
