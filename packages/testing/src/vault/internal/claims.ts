// Claim lookup and bound-claim matching as vault-plugin-auth-jwt does it (claims.go):
// JSON-pointer keys start with "/", top-level numbers become json.Number of their integer
// part, values compare with Go interface equality (type and value), lists match if any
// expected value equals any actual value, globs follow ryanuber/go-glob.
import { isJsonNumber, type JsonNumber } from "./fields.js";

/** A claim value as Vault's Go code holds it after `getClaim`. */
export type ClaimValue = unknown;

/** `getClaim`: a JSON pointer when `claim` starts with "/", else a top-level key; `undefined` when absent. */
export function getClaim(claims: Record<string, unknown>, claim: string): ClaimValue {
  let value: unknown;
  if (!claim.startsWith("/")) {
    value = claims[claim];
  } else {
    value = claims;
    for (const raw of claim.slice(1).split("/")) {
      const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
      if (Array.isArray(value)) {
        if (!/^\d+$/.test(part)) return undefined;
        value = value[Number(part)];
      } else if (typeof value === "object" && value !== null) {
        if (!Object.hasOwn(value, part)) return undefined;
        value = (value as Record<string, unknown>)[part];
      } else {
        return undefined;
      }
      if (value === undefined) return undefined;
    }
  }
  // The claims were decoded without UseNumber (float64); Vault turns a number found here
  // into json.Number(strconv.Itoa(int(v))) — its integer part — so it can equal a bound value.
  if (typeof value === "number") return { jsonNumber: String(Math.trunc(value)) } satisfies JsonNumber;
  return value === null ? undefined : value;
}

/** `normalizeList`: a list as is, a string/bool/json.Number as a one-element list, anything else `undefined`. */
export function normalizeList(raw: unknown): unknown[] | undefined {
  if (Array.isArray(raw)) return raw;
  if (typeof raw === "string" || typeof raw === "boolean" || isJsonNumber(raw)) return [raw];
  return undefined;
}

/** Go interface equality between two decoded JSON values: same dynamic type and value. */
function goEqual(a: unknown, b: unknown): boolean {
  if (isJsonNumber(a) || isJsonNumber(b)) return isJsonNumber(a) && isJsonNumber(b) && a.jsonNumber === b.jsonNumber;
  if (typeof a !== typeof b) return false;
  if (typeof a === "object") return false; // maps and slices: not comparable in Go, never equal here
  return a === b;
}

/** `matchFound`: whether any expected value matches any actual value. */
export function matchFound(expected: unknown[], actual: unknown[], useGlobs: boolean): boolean {
  for (const exp of expected) {
    for (const act of actual) {
      if (useGlobs) {
        if (typeof exp === "string" && typeof act === "string" && glob(exp, act)) return true;
      } else if (goEqual(exp, act)) {
        return true;
      }
    }
  }
  return false;
}

/** ryanuber/go-glob: `*` matches any run of characters (including none); nothing else is special. */
export function glob(pattern: string, subject: string): boolean {
  if (pattern === "") return subject === "";
  if (pattern === "*") return true;
  const parts = pattern.split("*");
  if (parts.length === 1) return subject === pattern;
  const leadingGlob = pattern.startsWith("*");
  const trailingGlob = pattern.endsWith("*");
  const end = parts.length - 1;
  let rest = subject;
  for (let i = 0; i < end; i++) {
    const idx = rest.indexOf(parts[i]!);
    if (i === 0) {
      if (!leadingGlob && idx !== 0) return false;
    } else if (idx < 0) {
      return false;
    }
    rest = rest.slice(idx + parts[i]!.length);
  }
  return trailingGlob || rest.endsWith(parts[end]!);
}

/** Go's `%v` rendering of a decoded JSON value, for error texts. */
export function goFormat(value: unknown): string {
  if (isJsonNumber(value)) return value.jsonNumber;
  if (Array.isArray(value)) return `[${value.map(goFormat).join(" ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goFormat(v)}`).join(" ")}]`;
  }
  if (value === undefined || value === null) return "<nil>";
  return String(value);
}

/**
 * `validateBoundClaims`: every bound claim must be present and match (AND across keys, OR
 * within a list). Keys are checked in the role's order (Go iterates its map at random, so
 * with several failing claims Vault may name any of them). Returns the error text or undefined.
 */
export function validateBoundClaims(
  boundClaims: Record<string, unknown>,
  claims: Record<string, unknown>,
  useGlobs: boolean,
): string | undefined {
  for (const [claim, expValue] of Object.entries(boundClaims)) {
    const actValue = getClaim(claims, claim);
    if (actValue === undefined) return `claim "${claim}" is missing`;
    const actVals = normalizeList(actValue);
    if (actVals === undefined) return `received claim is not a string, bool, int or list: ${goFormat(actValue)}`;
    const expVals = normalizeList(expValue);
    if (expVals === undefined) return `bound claim is not a string, bool, int or list: ${goFormat(expValue)}`;
    if (!matchFound(expVals, actVals, useGlobs))
      return `claim "${claim}" does not match any associated bound claim values`;
  }
  return undefined;
}
