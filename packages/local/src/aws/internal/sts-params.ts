import { type StsError, stsErrors } from "./sts-errors.js";

/** Parameters common to `AssumeRole` and `AssumeRoleWithWebIdentity`, validated as STS does. */
export interface CommonParams {
  roleArn: string;
  sessionName: string;
  /** Seconds; `undefined` when the caller did not ask (the role's default applies). */
  durationSeconds: number | undefined;
  policy: string | undefined;
}

const SESSION_NAME = /^[\w+=,.@-]*$/;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** The longest session STS issues at all (role maximum 12 h). */
export const MAX_DURATION_SECONDS = 43_200;

/** Reads and checks RoleArn, RoleSessionName, DurationSeconds and Policy. */
export function commonParams(form: URLSearchParams, minDurationSeconds: number): CommonParams | StsError {
  const roleArn = form.get("RoleArn");
  if (roleArn === null) return stsErrors.validation("roleArn", null, "Member must not be null");
  if (roleArn.length < 20 || roleArn.length > 2048) {
    return stsErrors.validation(
      "roleArn",
      roleArn,
      roleArn.length < 20
        ? "Member must have length greater than or equal to 20"
        : "Member must have length less than or equal to 2048",
    );
  }
  const sessionName = form.get("RoleSessionName");
  if (sessionName === null) return stsErrors.validation("roleSessionName", null, "Member must not be null");
  if (sessionName.length < 2 || sessionName.length > 64) {
    return stsErrors.validation(
      "roleSessionName",
      sessionName,
      sessionName.length < 2
        ? "Member must have length greater than or equal to 2"
        : "Member must have length less than or equal to 64",
    );
  }
  if (!SESSION_NAME.test(sessionName)) {
    return stsErrors.validation(
      "roleSessionName",
      sessionName,
      "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
  }
  let durationSeconds: number | undefined;
  const rawDuration = form.get("DurationSeconds");
  if (rawDuration !== null) {
    durationSeconds = Number(rawDuration);
    if (!/^\d+$/.test(rawDuration) || !Number.isSafeInteger(durationSeconds)) {
      return stsErrors.validation("durationSeconds", rawDuration, "Member must be an integer");
    }
    if (durationSeconds < minDurationSeconds) {
      return stsErrors.validation(
        "durationSeconds",
        rawDuration,
        `Member must have value greater than or equal to ${minDurationSeconds}`,
      );
    }
    if (durationSeconds > MAX_DURATION_SECONDS) {
      return stsErrors.validation(
        "durationSeconds",
        rawDuration,
        `Member must have value less than or equal to ${MAX_DURATION_SECONDS}`,
      );
    }
  }
  const policy = form.get("Policy") ?? undefined;
  if (policy !== undefined) {
    if (policy.length > 2048)
      return stsErrors.validation("policy", "…", "Member must have length less than or equal to 2048");
    const problem = policyProblem(policy);
    if (problem !== undefined) return stsErrors.malformedPolicy(problem);
  }
  return { roleArn, sessionName, durationSeconds, policy };
}

function policyProblem(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return "Syntax errors in policy.";
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "Syntax errors in policy.";
  const statement = (doc as Record<string, unknown>).Statement;
  if (statement === undefined) return "Policy document must contain a Statement.";
  const statements = Array.isArray(statement) ? statement : [statement];
  for (const s of statements) {
    if (typeof s !== "object" || s === null) return "Syntax errors in policy.";
    const effect = (s as Record<string, unknown>).Effect;
    if (effect !== "Allow" && effect !== "Deny") return "Invalid effect in policy.";
    if ("Principal" in s) return "Policy document should not specify a principal.";
  }
  return undefined;
}

/**
 * `SourceIdentity` of `AssumeRole`, checked as STS documents it: 2–64 characters of
 * `[\w+=,.@-]`, not starting with `aws:` (reserved; the pattern, which has no `:`,
 * already excludes it). `undefined` when absent.
 */
export function sourceIdentityParam(form: URLSearchParams): string | undefined | StsError {
  const value = form.get("SourceIdentity");
  if (value === null) return undefined;
  if (value.length < 2 || value.length > 64) {
    return stsErrors.validation(
      "sourceIdentity",
      value,
      value.length < 2
        ? "Member must have length greater than or equal to 2"
        : "Member must have length less than or equal to 64",
    );
  }
  if (!SESSION_NAME.test(value) || value.toLowerCase().startsWith("aws:")) {
    return stsErrors.validation(
      "sourceIdentity",
      value,
      "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
  }
  return value;
}

/** Session tags of a request: `Tags.member.N.Key/Value` and `TransitiveTagKeys.member.N`. */
export interface RequestTags {
  tags: Array<{ key: string; value: string }>;
  transitiveTagKeys: string[];
}

/** Reads the awsQuery-serialized tag lists of `AssumeRole`. */
export function requestTags(form: URLSearchParams): RequestTags | StsError {
  const tags: RequestTags["tags"] = [];
  for (let n = 1; form.has(`Tags.member.${n}.Key`); n += 1) {
    tags.push({ key: form.get(`Tags.member.${n}.Key`)!, value: form.get(`Tags.member.${n}.Value`) ?? "" });
  }
  const transitiveTagKeys: string[] = [];
  for (let n = 1; form.has(`TransitiveTagKeys.member.${n}`); n += 1) {
    transitiveTagKeys.push(form.get(`TransitiveTagKeys.member.${n}`)!);
  }
  return checkTags({ tags, transitiveTagKeys });
}

/** AWS's limits on session tags, from whichever source they came. */
export function checkTags(input: RequestTags): RequestTags | StsError {
  if (input.tags.length > 50) return stsErrors.tooManyTags();
  const seen = new Set<string>();
  for (const [i, { key, value }] of input.tags.entries()) {
    if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key)) {
      return stsErrors.validation(
        `tags.${i + 1}.member.key`,
        key,
        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
      );
    }
    if (value.length > 256 || !TAG_CHARS.test(value)) {
      return stsErrors.validation(
        `tags.${i + 1}.member.value`,
        value,
        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
      );
    }
    if (seen.has(key.toLowerCase())) return stsErrors.duplicateTagKeys();
    seen.add(key.toLowerCase());
  }
  for (const key of input.transitiveTagKeys) {
    if (!seen.has(key.toLowerCase())) {
      return stsErrors.validation("transitiveTagKeys", key, "Transitive tag keys must be keys of the session tags");
    }
  }
  return input;
}
