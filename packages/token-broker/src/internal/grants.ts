import type { GrantConfig, GrantMatch } from "../config-types.js";
import type { AnyProvider } from "../providers/provider.js";
import { compileGrantMatch } from "./grant-match.js";

/** A grant prepared for matching: each provider's section compiled, the match compiled. */
export interface CompiledGrant {
  readonly name: string;
  readonly match: GrantMatch;
  /** Provider name → its compiled section (only the providers this grant gives). */
  readonly sections: ReadonlyMap<string, unknown>;
  /** Whether these claims satisfy `match`. */
  matches(claims: Record<string, unknown>): boolean;
}

/** Prepares validated grants for {@link findGrant}. */
export function compileGrants(grants: readonly GrantConfig[], providers: readonly AnyProvider[]): CompiledGrant[] {
  return grants.map((grant) => {
    const sections = new Map<string, unknown>();
    for (const provider of providers) {
      const section = grant[provider.grant.key];
      if (section !== undefined) sections.set(provider.name, provider.grant.compile(section));
    }
    const matches = compileGrantMatch(grant.match);
    return Object.freeze({ name: grant.name, match: grant.match, sections, matches });
  });
}

/** Outcome of looking up a grant: the grant, or why there is none. */
export type GrantLookup<T> =
  | { granted: true; grant: CompiledGrant; value: T }
  | { granted: false; reason: "no_matching_grant" | "not_granted" };

/**
 * The first grant (in configuration order) that matches `claims` and whose section of
 * `provider` gives `request` (`provider.grant.select`), with what it gives.
 */
export function findGrant(
  grants: readonly CompiledGrant[],
  claims: Record<string, unknown>,
  provider: AnyProvider,
  request: unknown,
): GrantLookup<unknown> {
  let anyMatch = false;
  for (const grant of grants) {
    if (!grant.matches(claims)) continue;
    anyMatch = true;
    const section = grant.sections.get(provider.name);
    const value = section === undefined ? undefined : provider.grant.select(section, request);
    if (value !== undefined) return { granted: true, grant, value };
  }
  return { granted: false, reason: anyMatch ? "not_granted" : "no_matching_grant" };
}
