import { show } from "./claim-values.js";
import type { ExplainedClause } from "./explanation.js";

type Claims = Readonly<Record<string, unknown>>;
const TAGS_CLAIM = "https://aws.amazon.com/tags";
const REQUEST_TAG = "aws:requesttag/";
/** Google's documented principal tags (no dbgstat, secboot, service account, project number). */
const GOOGLE_TAGS = new Set([
  "hwmodel",
  "swname",
  "swversion",
  "confidential_space.support_attributes",
  "container.image_digest",
  "container.signatures.key_ids",
  "gce.project_id",
  "gce.zone",
]);

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Evaluates a trust policy's conditions against the session tags and the `aud`/`sub` of an
 * `AWS_PRINCIPALTAGS` token, as STS does for `AssumeRoleWithWebIdentity`: an Allow
 * statement whose conditions all hold, and no Deny statement that matches. Condition keys
 * the token does not decide (`sts:RoleSessionName`, `aws:SourceIdentity`, …) are reported
 * as not checked.
 */
export function explainAws(
  document: Record<string, unknown>,
  claims: Claims,
): { clauses: ExplainedClause[]; warnings: string[]; admitted: boolean } {
  const warnings: string[] = [];
  const tags = readTags(claims);
  if (tags === undefined)
    warnings.push(`the token has no ${TAGS_CLAIM} principal tags: request an AWS_PRINCIPALTAGS token`);
  const statements = (Array.isArray(document.Statement) ? document.Statement : [document.Statement]) as Statement[];
  const clauses: ExplainedClause[] = [];
  let allowed = false;
  let denied = false;
  statements.forEach((statement, index) => {
    const results = conditions(statement, index, claims, tags ?? new Map());
    const holds = results.every((r) => r.ok);
    if (statement.Effect === "Deny") {
      if (holds) {
        denied = true;
        clauses.push({ clause: `Statement[${index}] Deny`, ok: false, message: "a Deny statement matches this token" });
      }
      return;
    }
    if (holds) allowed = true;
    clauses.push(...results);
  });
  return { clauses, warnings, admitted: allowed && !denied };
}

function readTags(claims: Claims): Map<string, string> | undefined {
  const claim = claims[TAGS_CLAIM] as { principal_tags?: Record<string, unknown> } | undefined;
  if (typeof claim !== "object" || claim === null || typeof claim.principal_tags !== "object") return undefined;
  const tags = new Map<string, string>();
  for (const [key, value] of Object.entries(claim.principal_tags ?? {})) {
    if (Array.isArray(value) && typeof value[0] === "string") tags.set(key.toLowerCase(), value[0]);
  }
  return tags;
}

function conditions(statement: Statement, index: number, claims: Claims, tags: Map<string, string>): ExplainedClause[] {
  const out: ExplainedClause[] = [];
  for (const [rawOperator, entries] of Object.entries(statement.Condition ?? {})) {
    let operator = rawOperator.toLowerCase();
    let set: "all" | "any" | undefined;
    if (operator.startsWith("forallvalues:")) [set, operator] = ["all", operator.slice(13)];
    else if (operator.startsWith("foranyvalue:")) [set, operator] = ["any", operator.slice(12)];
    const ifExists = operator.endsWith("ifexists");
    if (ifExists) operator = operator.slice(0, -8);
    for (const [key, raw] of Object.entries(entries)) {
      const expected = (Array.isArray(raw) ? raw : [raw]).map(String);
      const clause = `Statement[${index}] ${rawOperator} ${key} ${show(raw)}`;
      const lower = key.toLowerCase();
      let actual: string[] | undefined;
      let claim: string | undefined;
      if (lower.startsWith(REQUEST_TAG)) {
        const tag = lower.slice(REQUEST_TAG.length);
        const value = tags.get(tag);
        actual = value === undefined ? [] : [value];
        claim = `${TAGS_CLAIM}.principal_tags.${key.slice(REQUEST_TAG.length)}`;
      } else if (lower.endsWith(":aud") || lower.endsWith(":sub")) {
        const name = lower.endsWith(":aud") ? "aud" : "sub";
        const value = claims[name];
        actual = typeof value === "string" ? [value] : Array.isArray(value) ? value.map(String) : [];
        claim = name;
      } else {
        out.push({ clause, ok: true, message: "depends on the request, not the token: not checked" });
        continue;
      }
      const ok = holds(operator, set, ifExists, expected, actual);
      let message = ok
        ? "holds"
        : actual.length === 0
          ? "the token has no such value"
          : `does not hold for ${show(actual.length === 1 ? actual[0] : actual)}`;
      if (!ok && lower.startsWith(REQUEST_TAG) && !GOOGLE_TAGS.has(lower.slice(REQUEST_TAG.length))) {
        message = `Google's principal tags have no ${key.slice(REQUEST_TAG.length)} tag: this condition never holds`;
      }
      const value = actual.length === 0 ? undefined : actual.length === 1 ? actual[0] : actual;
      out.push({ clause, ok, claim, ...(value !== undefined && { value }), message });
    }
  }
  return out;
}

function holds(
  operator: string,
  set: "all" | "any" | undefined,
  ifExists: boolean,
  expected: string[],
  actual: string[],
): boolean {
  if (operator === "null") {
    const absent = actual.length === 0;
    return expected.some((v) => (v === "true") === absent);
  }
  const negated = operator.includes("not");
  if (actual.length === 0) {
    if (set === "all") return true;
    if (set === "any") return false;
    return ifExists || negated;
  }
  const positive = negated ? operator.replace("not", "") : operator;
  const one = (value: string) => expected.some((pattern) => compare(positive, pattern, value)) !== negated;
  return set === "all" ? actual.every(one) : actual.some(one);
}

function compare(operator: string, pattern: string, value: string): boolean {
  switch (operator) {
    case "stringequals":
      return value === pattern;
    case "stringequalsignorecase":
    case "bool":
      return value.toLowerCase() === pattern.toLowerCase();
    case "stringlike": {
      const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? ".*" : c === "?" ? "." : `\\${c}`));
      return new RegExp(`^${source}$`, "s").test(value);
    }
    default:
      return false;
  }
}
