import { InvalidOptionError } from "@confspace/core";
/**
 * The subset of IAM policy evaluation a role trust policy needs: `Effect`, `Principal`
 * (`"*"`, `AWS`, `Federated`), `Action` with wildcards, and `Condition` with the string
 * operators, `Null` and `Bool`, `…IfExists`, and the `ForAllValues:`/`ForAnyValue:` set
 * qualifiers. Anything else (`NotPrincipal`, `NotAction`, other operators, policy
 * variables) is refused when the policy is loaded, so a test never silently runs
 * against a policy that would mean something else on AWS.
 */

/** An IAM JSON policy document, as written for a role's trust relationship. */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** One statement of a {@link PolicyDocument}. */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal: "*" | { AWS?: string | string[]; Federated?: string | string[] };
  Action: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

/** The request as a trust policy sees it. */
export interface TrustRequest {
  action: string;
  principalType: "AWS" | "Federated";
  /** Every name the principal matches: its ARN, its role ARN, its account root. */
  principals: readonly string[];
  /** Condition keys (lower-case) → values. Multi-valued keys hold several. */
  context: ReadonlyMap<string, readonly string[]>;
}

interface Condition {
  operator: string;
  ifExists: boolean;
  set: "all" | "any" | undefined;
  key: string;
  values: string[];
}

interface Statement {
  allow: boolean;
  principal: "*" | { aws: string[]; federated: string[] };
  actions: string[];
  conditions: Condition[];
}

const OPERATORS = new Set([
  "stringequals",
  "stringnotequals",
  "stringequalsignorecase",
  "stringnotequalsignorecase",
  "stringlike",
  "stringnotlike",
  "null",
  "bool",
]);

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** A loaded trust policy. */
export interface TrustPolicy {
  /** True when an Allow statement matches and no Deny statement does. */
  allows(request: TrustRequest): boolean;
}

/**
 * Parses and checks `document` (an object or JSON text).
 *
 * @throws {TypeError} naming what is malformed or unsupported.
 */
export function loadTrustPolicy(document: PolicyDocument | string, where: string): TrustPolicy {
  const doc = typeof document === "string" ? (JSON.parse(document) as PolicyDocument) : document;
  if (typeof doc !== "object" || doc === null || doc.Statement === undefined) {
    throw new InvalidOptionError("roles[].trustPolicy", `${where}: a policy document needs a Statement`);
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]).map((s, i) =>
    loadStatement(s, `${where} Statement[${i}]`),
  );
  return { allows: (request) => evaluate(statements, request) };
}

function loadStatement(s: PolicyStatement, where: string): Statement {
  const raw = s as unknown as Record<string, unknown>;
  for (const unsupported of ["NotPrincipal", "NotAction", "Resource", "NotResource"]) {
    if (unsupported in raw)
      throw new InvalidOptionError(
        "roles[].trustPolicy",
        `${where}: ${unsupported} is not supported in a trust policy here`,
      );
  }
  if (s.Effect !== "Allow" && s.Effect !== "Deny")
    throw new InvalidOptionError("roles[].trustPolicy", `${where}: Effect must be Allow or Deny`);
  if (s.Principal === undefined)
    throw new InvalidOptionError("roles[].trustPolicy", `${where}: Principal is required in a trust policy`);
  const principal =
    s.Principal === "*" ? ("*" as const) : { aws: list(s.Principal.AWS), federated: list(s.Principal.Federated) };
  const actions = list(s.Action).map((a) => a.toLowerCase());
  if (actions.length === 0) throw new InvalidOptionError("roles[].trustPolicy", `${where}: Action is required`);
  const conditions: Condition[] = [];
  for (const [rawOperator, entries] of Object.entries(s.Condition ?? {})) {
    let operator = rawOperator.toLowerCase();
    let set: Condition["set"];
    if (operator.startsWith("forallvalues:")) [set, operator] = ["all", operator.slice(13)];
    else if (operator.startsWith("foranyvalue:")) [set, operator] = ["any", operator.slice(12)];
    const ifExists = operator.endsWith("ifexists");
    if (ifExists) operator = operator.slice(0, -8);
    if (!OPERATORS.has(operator))
      throw new InvalidOptionError(
        "roles[].trustPolicy",
        `${where}: condition operator ${rawOperator} is not supported`,
      );
    for (const [key, value] of Object.entries(entries)) {
      const values = (Array.isArray(value) ? value : [value]).map(String);
      if (values.some((v) => v.includes("${")))
        throw new InvalidOptionError("roles[].trustPolicy", `${where}: policy variables are not supported`);
      conditions.push({ operator, ifExists, set, key: key.toLowerCase(), values });
    }
  }
  return { allow: s.Effect === "Allow", principal, actions, conditions };
}

function evaluate(statements: Statement[], request: TrustRequest): boolean {
  let allowed = false;
  for (const statement of statements) {
    if (!matches(statement, request)) continue;
    if (!statement.allow) return false;
    allowed = true;
  }
  return allowed;
}

function matches(statement: Statement, request: TrustRequest): boolean {
  if (!statement.actions.some((pattern) => wildcard(pattern, request.action.toLowerCase()))) return false;
  if (statement.principal !== "*") {
    const names = request.principalType === "AWS" ? statement.principal.aws : statement.principal.federated;
    if (!names.some((name) => name === "*" || request.principals.includes(name))) return false;
  }
  return statement.conditions.every((condition) => holds(condition, request.context.get(condition.key)));
}

function holds(c: Condition, present: readonly string[] | undefined): boolean {
  if (c.operator === "null") {
    const absent = present === undefined || present.length === 0;
    return c.values.some((v) => (v === "true") === absent);
  }
  const negated = c.operator.includes("not");
  if (present === undefined || present.length === 0) {
    // IAM: ForAllValues over nothing is true, ForAnyValue over nothing false; a missing
    // single-valued key fails a positive operator (unless …IfExists) and passes a negated one.
    if (c.set === "all") return true;
    if (c.set === "any") return false;
    return c.ifExists || negated;
  }
  const positive = negated ? c.operator.replace("not", "") : c.operator;
  const ok = (value: string) => c.values.some((pattern) => compare(positive, pattern, value)) !== negated;
  // Multi-valued keys without a qualifier behave as ForAnyValue.
  return c.set === "all" ? present.every(ok) : present.some(ok);
}

function compare(operator: string, pattern: string, value: string): boolean {
  switch (operator) {
    case "stringequals":
      return value === pattern;
    case "stringequalsignorecase":
      return value.toLowerCase() === pattern.toLowerCase();
    case "stringlike":
      return wildcard(pattern, value);
    case "bool":
      return value.toLowerCase() === pattern.toLowerCase();
    default:
      return false;
  }
}

/** IAM wildcards: `*` any run of characters, `?` one character; everything else literal. */
export function wildcard(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? ".*" : c === "?" ? "." : `\\${c}`));
  return new RegExp(`^${source}$`, "s").test(value);
}
