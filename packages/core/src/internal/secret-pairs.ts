/**
 * Finds `name VALUE` pairs in free text whose name denotes a secret, in every spelling
 * logs and error bodies use: `secret=VALUE`, `client_secret: VALUE`, `"password" : "VALUE"`,
 * `secret => VALUE`, `api_key := VALUE`, and `secret VALUE` (separated by spaces only).
 *
 * Each word is judged on its own (so a key inside an unmasked value is still seen), and
 * the ranges to mask are returned in text order, never the values.
 */

/** A name: letters, digits, `_`, `-`, `.` (`client_secret`, `x-api-key`, `db.password`). */
const WORD = /[A-Za-z_][\w.-]*/g;
/** After a name: an optional closing quote, a separator, then the value (quoted or up to a delimiter). */
const AFTER_NAME = /["']?(?:(\s*(?:=>|:=|[=:])\s*)|([ \t]+))(?:("[^"]*"|'[^']*')|([^\s&,;}"']+))/y;
/** An authorization scheme: its credential, after it, is masked on its own. */
const NOT_A_VALUE = /^(?:Bearer|Basic|Negotiate|AWS4-HMAC-SHA256)$/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Whether a bare value written after a secret name with only spaces between looks like a
 * secret rather than the next word of a sentence ("token cache", "password reset"):
 * 8+ characters mixing letters and digits, or 24+ characters; never a URL. (A quoted
 * value is always masked.)
 */
function looksSecret(value: string): boolean {
  if (URL_LIKE.test(value)) return false;
  if (value.length >= 24) return true;
  return value.length >= 8 && /\d/.test(value) && /[A-Za-z]/.test(value);
}

/** Ranges `[start, end)` of the values to mask in `text`; quotes around a value stay outside the range. */
export function secretValueRanges(text: string, isSecretName: (name: string) => boolean): [number, number][] {
  const ranges: [number, number][] = [];
  for (const word of text.matchAll(WORD)) {
    if (!isSecretName(word[0])) continue;
    AFTER_NAME.lastIndex = word.index + word[0].length;
    const pair = AFTER_NAME.exec(text);
    if (pair === null) continue;
    const end = AFTER_NAME.lastIndex;
    const quoted = pair[3];
    if (quoted !== undefined) {
      ranges.push([end - quoted.length + 1, end - 1]);
      continue;
    }
    const bare = pair[4]!;
    if (NOT_A_VALUE.test(bare)) continue;
    if (pair[2] !== undefined && !looksSecret(bare)) continue;
    ranges.push([end - bare.length, end]);
  }
  return ranges;
}
