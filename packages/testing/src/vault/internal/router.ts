// Request dispatch of the local Vault: namespace, unauthenticated paths (health, login),
// token lookup (403 for unknown/expired/revoked tokens), ACL check, then the token store,
// the JWT auth mounts, policies and the KV v2 / transit engines.
import { allowed, type Capability, DEFAULT_POLICY, type Policy, parsePolicy } from "./acl.js";
import { asDurationSeconds, asString, type RequestValue } from "./fields.js";
import type { JwtAuthMount } from "./jwt-auth.js";
import type { Kv2Engine, Operation } from "./kv2.js";
import { badRequest, type HandlerResult, noHandler, permissionDenied } from "./responses.js";
import type { TokenEntry, TokenStore } from "./tokens.js";
import type { TransitEngine } from "./transit.js";

/** One parsed request. */
export interface VaultRequest {
  method: string;
  /** Path below `/v1/`, without query. */
  path: string;
  query: URLSearchParams;
  body: Record<string, RequestValue>;
  token: string | undefined;
  namespace: string;
  remoteAddress: string;
}

/** What the router answers: a result (200/404 with data), `undefined` for 204/404-empty, and whether it was a read. */
export interface RouteAnswer {
  result: HandlerResult | undefined;
  read: boolean;
}

export interface RouterState {
  namespace: string;
  rootToken: string;
  tokens: TokenStore;
  jwtMounts: Map<string, JwtAuthMount>;
  kvMounts: Map<string, Kv2Engine>;
  transitMounts: Map<string, TransitEngine>;
  policies: Map<string, Policy>;
  maxLeaseTtl: number;
}

const defaultPolicy = parsePolicy(DEFAULT_POLICY);

export async function route(state: RouterState, req: VaultRequest): Promise<RouteAnswer> {
  const { method, path } = req;
  if (req.namespace !== state.namespace) throw noHandler(req.namespace === "" ? path : `${req.namespace}/${path}`);
  const segments = path.split("/");
  // Login paths are unauthenticated.
  if (
    segments[0] === "auth" &&
    segments.length === 3 &&
    segments[2] === "login" &&
    (method === "POST" || method === "PUT")
  ) {
    const mount = state.jwtMounts.get(segments[1]!);
    if (mount === undefined) throw noHandler(path);
    return { read: false, result: await mount.login(req.body, req.remoteAddress) };
  }

  const isRoot = req.token !== undefined && req.token === state.rootToken;
  const entry = isRoot ? undefined : state.tokens.lookup(req.token, req.namespace);
  const check = (capability: Capability) => {
    if (isRoot) return;
    const policies = entry!.policies.map((name) => (name === "default" ? defaultPolicy : state.policies.get(name)));
    if (
      !allowed(
        policies.filter((p): p is Policy => p !== undefined),
        path,
        capability,
      )
    )
      throw permissionDenied();
  };
  const run = async (operation: Operation | undefined): Promise<RouteAnswer> => {
    if (operation === undefined) throw noHandler(path);
    check(operation.capability);
    return { read: operation.read === true, result: await operation.run() };
  };
  const post = method === "POST" || method === "PUT";

  if (path.startsWith("auth/token/"))
    return run(tokenOperation(state, entry, isRoot, method, segments[2] ?? "", req.body));

  if (segments[0] === "auth" && segments.length >= 3) {
    const mount = state.jwtMounts.get(segments[1]!);
    if (mount === undefined) throw noHandler(path);
    if (segments[2] === "config" && segments.length === 3) {
      return run(
        method === "GET"
          ? { capability: "read", read: true, run: () => mount.readConfig() }
          : post
            ? { capability: "update", run: () => mount.writeConfig(req.body) }
            : undefined,
      );
    }
    if (segments[2] === "role" && segments.length === 4) {
      const name = segments[3]!;
      if (method === "GET") return run({ capability: "read", read: true, run: () => mount.readRole(name) });
      if (method === "DELETE")
        return run({ capability: "delete", run: () => void mount.roles.delete(name.toLowerCase()) });
      if (post) {
        return run({
          capability: mount.roles.has(name.toLowerCase()) ? "update" : "create",
          run: () => mount.writeRole(name, req.body, state.maxLeaseTtl),
        });
      }
    }
    throw noHandler(path);
  }

  const policyName = /^sys\/(?:policies\/acl|policy)\/([^/]+)$/.exec(path)?.[1];
  if (policyName !== undefined) {
    if (method === "DELETE") return run({ capability: "delete", run: () => void state.policies.delete(policyName) });
    if (post) {
      return run({
        capability: state.policies.has(policyName) ? "update" : "create",
        run: () => {
          const text = req.body.policy ?? req.body.rules;
          if (text === undefined) throw badRequest("'policy' parameter not supplied or empty");
          state.policies.set(policyName, parsePolicy(asString("policy", text)));
          return undefined;
        },
      });
    }
    throw noHandler(path);
  }

  const mountName = segments[0]!;
  const subpath = segments.slice(1).join("/");
  const kv = state.kvMounts.get(mountName);
  if (kv !== undefined) {
    const operation = kv.route(method, subpath, req.query, req.body);
    if (operation === undefined) {
      check(method === "GET" ? "read" : method === "DELETE" ? "delete" : "update");
      throw Object.assign(noHandler(path), {
        errors: [],
        body: {
          warnings: [
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.",
          ],
        },
      });
    }
    return run(operation);
  }
  const transit = state.transitMounts.get(mountName);
  if (transit !== undefined) return run(transit.route(method, subpath, req.query, req.body));
  throw noHandler(path);
}

function tokenOperation(
  state: RouterState,
  entry: TokenEntry | undefined,
  isRoot: boolean,
  method: string,
  action: string,
  body: Record<string, RequestValue>,
): Operation | undefined {
  const post = method === "POST" || method === "PUT";
  const requireEntry = () => {
    if (entry === undefined && isRoot)
      throw badRequest("the root token of the local Vault cannot be looked up, renewed or revoked");
    return entry!;
  };
  switch (action) {
    case "lookup-self":
      if (method !== "GET" && !post) return undefined;
      return {
        capability: method === "GET" ? "read" : "update",
        read: true,
        run: () => ({ data: state.tokens.lookupData(requireEntry()) }),
      };
    case "renew-self":
      if (!post) return undefined;
      return {
        capability: "update",
        run: () => {
          const increment = body.increment === undefined ? 0 : asDurationSeconds("increment", body.increment);
          const { auth, warnings } = state.tokens.renew(requireEntry(), increment);
          return { auth, warnings };
        },
      };
    case "revoke-self":
      if (!post) return undefined;
      return { capability: "update", run: () => void state.tokens.revoke(requireEntry()) };
    default:
      return undefined;
  }
}
