// Vault ACL policies, enough to answer 403 `permission denied` for a path a token lacks:
// `path "…" { capabilities = [...] }` in HCL (the common subset) or JSON, exact paths,
// `+` segment wildcards and a trailing `*` glob, Vault's priority between matching
// patterns, rules for one path merged across policies, and `deny` winning.
import { badRequest } from "./responses.js";

export type Capability = "create" | "read" | "update" | "patch" | "delete" | "list" | "sudo" | "deny";
const CAPABILITIES = new Set<Capability>(["create", "read", "update", "patch", "delete", "list", "sudo", "deny"]);

/** A parsed policy: path pattern → capabilities. */
export type Policy = Map<string, Set<Capability>>;

/** Vault's built-in `default` policy, the parts a JWT-issued token uses. */
export const DEFAULT_POLICY = `
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
path "cubbyhole/*" { capabilities = ["create", "read", "update", "delete", "list"] }
`;

/** Parses HCL (`path "x" { capabilities = ["read"] }`) or JSON (`{"path": {"x": {"capabilities": [...]}}}`). */
export function parsePolicy(text: string): Policy {
  const policy: Policy = new Map();
  const add = (path: string, caps: unknown) => {
    if (!Array.isArray(caps)) throw badRequest(`failed to parse policy: path "${path}": capabilities must be a list`);
    const set = policy.get(path) ?? new Set<Capability>();
    for (const cap of caps) {
      if (!CAPABILITIES.has(cap as Capability))
        throw badRequest(`failed to parse policy: invalid capability "${String(cap)}"`);
      set.add(cap as Capability);
    }
    policy.set(path, set);
  };
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let doc: { path?: Record<string, { capabilities?: unknown }> };
    try {
      doc = JSON.parse(trimmed) as typeof doc;
    } catch {
      throw badRequest("failed to parse policy: invalid JSON");
    }
    for (const [path, rule] of Object.entries(doc.path ?? {})) add(path, rule.capabilities);
    return policy;
  }
  const withoutComments = trimmed.replace(/^\s*#.*$/gm, "");
  const block = /path\s+"([^"]*)"\s*\{([^}]*)\}/g;
  let matched = 0;
  for (const match of withoutComments.matchAll(block)) {
    matched += 1;
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(match[2]!);
    if (caps === null) continue;
    add(
      match[1]!,
      [...caps[1]!.matchAll(/"([^"]*)"/g)].map((m) => m[1]),
    );
  }
  if (matched === 0 && withoutComments.trim() !== "") throw badRequest("failed to parse policy: no path blocks found");
  return policy;
}

function matches(pattern: string, path: string): boolean {
  const glob = pattern.endsWith("*");
  const body = glob ? pattern.slice(0, -1) : pattern;
  const patternParts = body.split("/");
  const pathParts = path.split("/");
  if (!glob && patternParts.length !== pathParts.length) return false;
  if (glob && pathParts.length < patternParts.length) return false;
  for (let i = 0; i < patternParts.length; i++) {
    const want = patternParts[i]!;
    const have = pathParts[i]!;
    const last = i === patternParts.length - 1;
    if (want === "+") {
      if (have === "" && !glob) return false;
      continue;
    }
    if (last && glob) return have.startsWith(want);
    if (want !== have) return false;
  }
  return true;
}

/** Vault's ordering of two matching patterns: negative when `a` has lower priority than `b`. */
function comparePriority(a: string, b: string): number {
  const firstWildcard = (p: string) => {
    const positions = [p.indexOf("+"), p.indexOf("*")].filter((i) => i >= 0);
    return positions.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...positions);
  };
  if (firstWildcard(a) !== firstWildcard(b)) return firstWildcard(a) - firstWildcard(b);
  if (a.endsWith("*") !== b.endsWith("*")) return a.endsWith("*") ? -1 : 1;
  const plusCount = (p: string) => p.split("/").filter((s) => s === "+").length;
  if (plusCount(a) !== plusCount(b)) return plusCount(b) - plusCount(a);
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether `policies` grant `capability` on `path` (no leading slash, no `v1/`). */
export function allowed(policies: Policy[], path: string, capability: Capability): boolean {
  const merged = new Map<string, Set<Capability>>();
  for (const policy of policies) {
    for (const [pattern, caps] of policy) {
      const set = merged.get(pattern) ?? new Set<Capability>();
      for (const cap of caps) set.add(cap);
      merged.set(pattern, set);
    }
  }
  let best: string | undefined;
  if (merged.has(path) && !path.includes("+") && !path.endsWith("*")) best = path;
  else {
    for (const pattern of merged.keys()) {
      if (!matches(pattern, path)) continue;
      if (best === undefined || comparePriority(pattern, best) > 0) best = pattern;
    }
  }
  if (best === undefined) return false;
  const caps = merged.get(best)!;
  return !caps.has("deny") && caps.has(capability);
}
