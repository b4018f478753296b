// Vault's framework field types (sdk/framework/field_type.go, parseutil), as far as the
// local Vault's endpoints need them: how a request parameter is coerced before a handler
// sees it. Numbers are kept with their source text, as Vault decodes request JSON with
// UseNumber (so `1.0` and `1` are different json.Number values).

/** A JSON number as Vault's decoder keeps it: its literal text. */
export interface JsonNumber {
  readonly jsonNumber: string;
}

/** A request body value: JSON with numbers kept as {@link JsonNumber}. */
export type RequestValue = string | boolean | null | JsonNumber | RequestValue[] | { [key: string]: RequestValue };

/** A parameter that failed its type; answered 400 like Vault's "Field validation failed". */
export class FieldError extends Error {}

export function isJsonNumber(value: unknown): value is JsonNumber {
  return typeof value === "object" && value !== null && typeof (value as JsonNumber).jsonNumber === "string";
}

export function isObject(value: unknown): value is Record<string, RequestValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !isJsonNumber(value);
}

/** Parses a request body, keeping each number's literal text. Empty body → `{}`. */
export function parseRequestJson(text: string): Record<string, RequestValue> {
  if (text.trim() === "") return {};
  const value = JSON.parse(text, (_key, v: unknown, context?: { source?: string }) =>
    typeof v === "number" ? { jsonNumber: context?.source ?? String(v) } : v,
  ) as unknown;
  if (!isObject(value)) throw new FieldError("request body must be a JSON object");
  return value;
}

/** Converts a request value back to plain JSON (numbers as numbers), e.g. for storage or echo. */
export function plain(value: RequestValue): unknown {
  if (isJsonNumber(value)) return Number(value.jsonNumber);
  if (Array.isArray(value)) return value.map(plain);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function fail(name: string, value: unknown, why: string): never {
  throw new FieldError(
    `Field validation failed: error converting input ${JSON.stringify(plain(value as RequestValue))} for field "${name}": ${why}`,
  );
}

export function asString(name: string, value: RequestValue): string {
  if (typeof value === "string") return value;
  if (isJsonNumber(value)) return value.jsonNumber;
  if (typeof value === "boolean") return String(value);
  return fail(name, value, "expected a string");
}

export function asBool(name: string, value: RequestValue): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  return fail(name, value, "expected a bool");
}

export function asInt(name: string, value: RequestValue): number {
  const text = isJsonNumber(value) ? value.jsonNumber : typeof value === "string" ? value : undefined;
  if (text === undefined || !/^-?\d+$/.test(text.trim())) return fail(name, value, "expected an integer");
  return Number.parseInt(text, 10);
}

/** TypeCommaStringSlice: a list, or a comma-separated string; items trimmed, empty ones dropped. */
export function asCommaStringSlice(name: string, value: RequestValue): string[] {
  const items = Array.isArray(value) ? value.map((item) => asString(name, item)) : asString(name, value).split(",");
  return items.map((item) => item.trim()).filter((item) => item !== "");
}

const UNIT_SECONDS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
};

/** TypeDurationSecond / TypeSignedDurationSecond: integer seconds, a numeric string, or a Go duration ("1h30m", "90s", "2d"). */
export function asDurationSeconds(name: string, value: RequestValue, signed = false): number {
  let seconds: number;
  if (isJsonNumber(value)) {
    seconds = Math.trunc(Number(value.jsonNumber));
  } else if (typeof value === "string") {
    const text = value.trim();
    if (text === "") seconds = 0;
    else if (/^-?\d+$/.test(text)) seconds = Number.parseInt(text, 10);
    else {
      const match = /^(-?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+)$/.exec(text);
      if (match === null) return fail(name, value, `time: invalid duration "${text}"`);
      let total = 0;
      for (const part of match[2]!.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) {
        total += Number(part[1]) * UNIT_SECONDS[part[2]!]!;
      }
      seconds = Math.trunc(match[1] === "-" ? -total : total);
    }
  } else {
    return fail(name, value, "expected a duration");
  }
  if (!signed && seconds < 0) return fail(name, value, "cannot parse negative duration");
  return seconds;
}

/** TypeMap: a JSON object (or a JSON string holding one). */
export function asMap(name: string, value: RequestValue): Record<string, RequestValue> {
  if (isObject(value)) return value;
  if (typeof value === "string") {
    try {
      return parseRequestJson(value);
    } catch {
      // fall through
    }
  }
  return fail(name, value, "expected a map");
}

/** TypeKVPairs: an object of strings, or a list of `key=value` strings. */
export function asKvPairs(name: string, value: RequestValue): Record<string, string> {
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asString(name, v)]));
  }
  if (Array.isArray(value)) {
    const out: Record<string, string> = {};
    for (const item of value) {
      const text = asString(name, item);
      const at = text.indexOf("=");
      if (at < 1) return fail(name, value, `invalid key value pair "${text}"`);
      out[text.slice(0, at)] = text.slice(at + 1);
    }
    return out;
  }
  return fail(name, value, "expected key value pairs");
}

/** Keys of `body` not in `known`, sorted, for Vault's "Endpoint ignored these unrecognized parameters" warning. */
export function unknownFields(body: Record<string, unknown>, known: ReadonlySet<string>): string[] {
  return Object.keys(body)
    .filter((key) => !known.has(key))
    .sort();
}
