import { secretValueRanges } from "./internal/secret-pairs.js";

/** What replaces a redacted value. */
export const REDACTED = "[REDACTED]";

// A compact JWS/JWE: base64url header starting with `{"` (eyJ), then payload and signature; any part but the
// header may be empty (a detached payload, a JWE with direct encryption).
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?/g;
// Authorization header values: `Bearer x`, `Basic x`, and Vault/AWS style schemes.
const AUTH_SCHEME = /\b(Bearer|Basic|Negotiate|AWS4-HMAC-SHA256)\s+[^\s"',;]+/gi;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
// Vault service/batch/recovery tokens (hvs., hvb., hvr.) and legacy s./b. tokens are too short to match safely.
const VAULT_TOKEN = /\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g;

/** Object keys whose values are always redacted, whatever they look like. */
const SECRET_KEY =
  /^(?:authorization|proxy-authorization|cookie|set-cookie)$|token|secret|password|passphrase|assertion|jwt|credential|private[-_]?key|signature|^key$|^sig$|api[-_]?key/i;

/** Keys that look secret by name but hold metadata (any case: `token_type`, `tokenType`); `expires_in` and the like never look secret. */
const SAFE_KEY = /^token_?(?:type|ttl|policies)$/i;

/**
 * Masks JWTs, bearer and basic credentials, PEM private keys, Vault tokens, and the
 * value after any name that denotes a secret (as {@link isSecretKey} judges it):
 * `secret=…`, `client_secret: …`, `"password": "…"`, `secret => …`, and `secret …`
 * with only spaces between when the value looks like a secret (quoted, 8+ characters
 * mixing letters and digits, or 24+ characters; not a URL).
 */
export function redactString(text: string): string {
  const masked = text
    .replace(PEM_PRIVATE_KEY, REDACTED)
    .replace(JWT, REDACTED)
    .replace(AUTH_SCHEME, (_match, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(VAULT_TOKEN, REDACTED);
  let out = "";
  let from = 0;
  for (const [start, end] of secretValueRanges(masked, isSecretKey)) {
    if (end <= from) continue; // inside a value already masked
    out += `${masked.slice(from, Math.max(start, from))}${REDACTED}`;
    from = end;
  }
  return out + masked.slice(from);
}

/** Whether a field of this name is redacted whatever its value. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !SAFE_KEY.test(key);
}

/**
 * Returns a copy of `value` safe to log: strings are scanned for JWTs, bearer
 * headers, private keys and `secret=…` pairs; fields whose names denote secrets
 * (`token`, `client_secret`, `authorization`, …) are replaced whole; Errors become
 * `{ name, message, code, cause }` with the same treatment. Cycles and depth are bounded.
 *
 * @example
 * ```ts
 * redact({ headers: { authorization: "Bearer eyJ…" }, note: "jwt=eyJ…" });
 * // { headers: { authorization: "[REDACTED]" }, note: "jwt=[REDACTED]" }
 * ```
 */
export function redact<T>(value: T): T {
  return redactValue(value, 0, new WeakSet()) as T;
}

const MAX_DEPTH = 8;

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string") return redactString(value);
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  seen.add(value);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `[${value.constructor.name} ${(value as ArrayBufferLike).byteLength} bytes]`;
  }
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactString(value.message) };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = redactValue(value.cause, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
  if (value instanceof Map) {
    return Object.fromEntries(
      [...value].map(([k, v]) => [String(k), isSecretKey(String(k)) ? REDACTED : redactValue(v, depth + 1, seen)]),
    );
  }
  if (value instanceof Date) return value.toString();
  if (value instanceof URL) return redactString(value.toString()); // a SAS `sig=` or `token=` in the query
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretKey(key) && item !== undefined && item !== null ? REDACTED : redactValue(item, depth + 1, seen);
  }
  return out;
}
