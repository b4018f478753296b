/** A dotted claim path from the token's root, e.g. `submods.container.image_digest`. */
export const CLAIM_PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** Where a walk along a claim path ended. */
export interface ClaimLookup {
  /** The value at the path; `undefined` when a segment is absent or the walk was blocked. */
  value: unknown;
  /**
   * The path of a present value that is not an object but has to be walked through
   * (`submods` is a string): the token is malformed there. `undefined` otherwise.
   */
  blockedAt?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Where a walk stopped at a present value that is not an object: `at` is its path (`""`: the claims themselves). */
export class BlockedWalk {
  constructor(readonly at: string) {}
}

/** The one walk: own properties only, never into arrays; allocates only when blocked. */
function walk(claims: unknown, segments: readonly string[]): unknown {
  let current: unknown = claims;
  for (let index = 0; index < segments.length; index++) {
    if (current === undefined) return undefined;
    if (!isObject(current)) return new BlockedWalk(segments.slice(0, index).join("."));
    const segment = segments[index]!;
    current = Object.hasOwn(current, segment) ? current[segment] : undefined;
  }
  return current;
}

/**
 * Walks `path` (dotted, from the token's root) through `claims`, own properties only:
 * never the prototype chain (`a.toString` is absent), never into arrays (`a.0` is absent).
 * The one claim-path walker of confspace: the policy evaluator, the verifier and the
 * broker's session tags all read claims through it.
 */
export function lookupClaim(claims: unknown, path: string): ClaimLookup {
  const value = walk(claims, path.split("."));
  return value instanceof BlockedWalk ? { value: undefined, blockedAt: value.at } : { value };
}

/**
 * {@link lookupClaim} for one path, split once: the value, or a {@link BlockedWalk}. For
 * checks that read the same path on every request (the policy's clauses).
 */
export function claimWalker(path: string): (claims: unknown) => unknown {
  const segments = path.split(".");
  return (claims) => walk(claims, segments);
}

/**
 * The value at a dotted claim path, or `undefined` when it is absent (or a segment on the
 * way is not an object). Own properties only.
 *
 * @example
 * ```ts
 * import { claimAt } from "@confspace/policy";
 *
 * claimAt({ submods: { gce: { project_id: "my-project" } } }, "submods.gce.project_id"); // "my-project"
 * ```
 */
export function claimAt(claims: unknown, path: string): unknown {
  return lookupClaim(claims, path).value;
}
