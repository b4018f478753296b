import { ConfspaceError } from "@confspace/core";
import { claimAt } from "@confspace/policy";

/** AWS accepts at most 50 session tags per `AssumeRole`. */
export const MAX_SESSION_TAGS = 50;

// AWS STS `Tag`: key 1–128, value 0–256 characters, both `[\p{L}\p{Z}\p{N}_.:/=+\-@]`
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_Tag.html).
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;

/** One AWS session tag, as `AssumeRoleCommand` takes it. */
export interface SessionTag {
  Key: string;
  Value: string;
}

/**
 * A session tag cannot be built from this token's claims: the claim is missing, is not a
 * string, number, boolean or array of strings, or its value is one AWS refuses (longer
 * than 256 characters, or a character outside `[\p{L}\p{Z}\p{N}_.:/=+\-@]`). Code
 * `ERR_SESSION_TAG`. Values are refused, never rewritten: a sanitized value could make two
 * workloads look alike to an IAM policy. The message names the tag and claim, never the value.
 */
export class SessionTagError extends ConfspaceError {
  declare readonly code: "ERR_SESSION_TAG";
  /** The tag key concerned. */
  readonly tag: string;
  /** The claim path the tag is taken from. */
  readonly claim: string;

  constructor(tag: string, claim: string, message: string) {
    super("ERR_SESSION_TAG", message);
    this.tag = tag;
    this.claim = claim;
  }
}

/** Why `key` cannot be a session tag key, or `undefined` when it can. */
export function checkTagKey(key: string): string | undefined {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return `tag keys must be 1–${MAX_KEY_LENGTH} characters`;
  if (!TAG_CHARS.test(key)) return "tag keys may only contain letters, digits, spaces and _ . : / = + - @";
  if (key.toLowerCase().startsWith("aws:")) return 'tag keys must not start with "aws:" (reserved by AWS)';
  return undefined;
}

/**
 * Builds the session tags of an `AssumeRole` call from verified claims: tag key → claim
 * path. Strings, numbers and booleans become their text; arrays of strings are joined
 * with `=` (as AWS principal tags carry support attributes: `LATEST=STABLE=USABLE`).
 *
 * @throws {SessionTagError} a claim is missing or has a value AWS would refuse.
 */
export function deriveSessionTags(
  spec: Readonly<Record<string, string>> | undefined,
  claims: Record<string, unknown>,
): SessionTag[] {
  if (spec === undefined) return [];
  const tags: SessionTag[] = [];
  for (const [key, path] of Object.entries(spec)) {
    const value = tagValue(claimAt(claims, path));
    if (value === undefined) {
      throw new SessionTagError(
        key,
        path,
        `session tag "${key}" needs claim ${path}, which the token lacks or holds as an object`,
      );
    }
    if (value.length > MAX_VALUE_LENGTH) {
      throw new SessionTagError(key, path, `session tag "${key}" would exceed ${MAX_VALUE_LENGTH} characters`);
    }
    if (!TAG_CHARS.test(value)) {
      throw new SessionTagError(key, path, `session tag "${key}" would hold characters AWS does not accept in tags`);
    }
    tags.push({ Key: key, Value: value });
  }
  return tags;
}

function tagValue(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join("=");
  return undefined;
}
