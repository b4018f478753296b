import { type CelInput, celEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { claimAtPath, isShownClaim, show, shownValue } from "./claim-values.js";
import type { ExplainedClause } from "./explanation.js";

/** A workload identity provider as explain reads it: a condition, and optionally a mapping, audiences and issuer. */
export interface WifProviderText {
  attributeCondition: string;
  attributeMapping?: Readonly<Record<string, string>>;
  allowedAudiences?: readonly string[];
  issuerUri?: string;
}

type Claims = Readonly<Record<string, unknown>>;

/**
 * Checks each top-level `&&` clause of an attribute condition with `@bufbuild/cel`, as
 * Google STS evaluates the whole: only `true` admits, and a CEL error (`int()` of a list, a
 * claim the token lacks) rejects.
 */
export function explainCel(
  provider: WifProviderText,
  claims: Claims,
): { clauses: ExplainedClause[]; warnings: string[] } {
  const clauses: ExplainedClause[] = [];
  const warnings: string[] = [];
  const audiences = audienceList(claims.aud);
  if (provider.allowedAudiences && provider.allowedAudiences.length > 0) {
    const ok = audiences.some((aud) => provider.allowedAudiences!.includes(aud));
    clauses.push({
      clause: `allowedAudiences ${show(provider.allowedAudiences)}`,
      ok,
      claim: "aud",
      value: shownValue(claims, "aud"),
      message: ok
        ? "the token's audience is allowed"
        : "the token's aud is not one of the provider's allowed audiences",
    });
  }
  if (provider.issuerUri !== undefined && typeof claims.iss === "string") {
    // Google compares issuers without a trailing slash (its own docs configure one).
    const ok = provider.issuerUri.replace(/\/+$/, "") === claims.iss.replace(/\/+$/, "");
    clauses.push({
      clause: `issuerUri ${show(provider.issuerUri)}`,
      ok,
      claim: "iss",
      value: claims.iss,
      message: ok ? "the issuer matches" : "the token's iss is not the provider's issuer",
    });
  }
  const assertion = toCel(claims);
  const attribute = new Map<string, CelInput>();
  const google = new Map<string, CelInput>([["groups", []]]);
  for (const [key, expression] of Object.entries(provider.attributeMapping ?? {})) {
    const value = evaluate(expression, { assertion });
    if (value.error !== undefined) continue;
    if (key === "google.subject") google.set("subject", value.result as CelInput);
    else if (key === "google.groups") google.set("groups", value.result as CelInput);
    else if (key.startsWith("attribute.")) attribute.set(key.slice("attribute.".length), value.result as CelInput);
  }
  for (const conjunct of splitConjuncts(provider.attributeCondition)) {
    const paths = referencedClaims(conjunct);
    const claim = paths[0];
    const { result, error } = evaluate(conjunct, { assertion, google, attribute });
    const ok = error === undefined && result === true;
    const value = claim === undefined ? undefined : shownValue(claims, claim);
    let message: string;
    if (ok) message = "holds";
    else if (error !== undefined) {
      // A CEL error can quote the value it failed on: not for claims that are never shown.
      const detail = paths.every(isShownClaim) ? ` (${error})` : "";
      message = `is a CEL error${detail}, which rejects every token${trap(conjunct, claims)}`;
    } else message = `is ${show(result)}${literalHint(conjunct, claims, paths)}`;
    clauses.push({
      clause: conjunct,
      ok,
      ...(claim !== undefined && { claim }),
      ...(value !== undefined && { value }),
      message,
    });
  }
  return { clauses, warnings };
}

function audienceList(aud: unknown): string[] {
  if (typeof aud === "string") return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
}

function evaluate(expression: string, bindings: Record<string, CelInput>): { result?: unknown; error?: string } {
  let program: (b: Record<string, CelInput>) => unknown;
  try {
    program = plan(celEnv(), parse(expression)) as typeof program;
  } catch (e) {
    return { error: `not valid CEL: ${(e as Error).message}` };
  }
  const result = program(bindings);
  if (isCelError(result)) return { error: result.message };
  return { result };
}

/** JSON claims as CEL sees `assertion`: objects are maps, numbers doubles. */
function toCel(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === "object") {
    return new Map(Object.entries(value).map(([key, item]) => [key, toCel(item)]));
  }
  return value as CelInput;
}

/** The top-level `&&` operands, as written (quotes, parentheses, brackets respected). */
export function splitConjuncts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (depth === 0 && c === "&" && text[i + 1] === "&") {
      parts.push(text.slice(start, i).trim());
      start = i + 2;
      i++;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== "");
}

/** Dotted claim paths a clause reads (`assertion.submods.gce.project_id` → `submods.gce.project_id`). */
function referencedClaims(conjunct: string): string[] {
  const found = new Set<string>();
  for (const match of conjunct.matchAll(/\bassertion((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) found.add(match[1]!.slice(1));
  return [...found];
}

/** Known traps of hand-written conditions. */
function trap(conjunct: string, claims: Claims): string {
  const int = /\bint\(\s*assertion\.([A-Za-z0-9_.]+)\s*\)/.exec(conjunct);
  if (int && Array.isArray(claimAtPath(claims, int[1]!))) {
    return `: ${int[1]} is a list (${show(shownValue(claims, int[1]!))}) and int() of a list is an error; use int(assertion.${int[1]}[0])`;
  }
  const missing = referencedClaims(conjunct).find((path) => claimAtPath(claims, path) === undefined);
  if (missing !== undefined) return `: the token has no ${missing}`;
  return "";
}

/** A string literal that differs from the claim only by whitespace (a trailing space inside a digest). */
function literalHint(conjunct: string, claims: Claims, paths: string[]): string {
  const values = paths.flatMap((path) => {
    const value = claimAtPath(claims, path);
    return Array.isArray(value) ? value : [value];
  });
  for (const match of conjunct.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)) {
    const literal = match[1] ?? match[2] ?? "";
    if (literal !== literal.trim() && values.includes(literal.trim())) {
      return `: the literal ${JSON.stringify(literal)} has surrounding whitespace; the claim is ${JSON.stringify(literal.trim())}`;
    }
  }
  return "";
}
