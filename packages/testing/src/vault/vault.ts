import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { BodyTooLargeError, closeServer, readBody, sendJson } from "../internal/http.js";
import { type Policy, parsePolicy } from "./internal/acl.js";
import { FieldError, parseRequestJson } from "./internal/fields.js";
import { JwtAuthMount } from "./internal/jwt-auth.js";
import { Kv2Engine } from "./internal/kv2.js";
import { envelope, VaultHttpError } from "./internal/responses.js";
import { type RouterState, route } from "./internal/router.js";
import { TokenStore } from "./internal/tokens.js";
import { TransitEngine } from "./internal/transit.js";

/** Options of {@link startLocalVault}. */
export interface LocalVaultOptions {
  /** Serve HTTPS with this certificate (e.g. from `createTestPki`). `requireClientCert` demands a client certificate signed by `ca` (mTLS). Default: plain HTTP. */
  tls?: { cert: string; key: string; ca?: string; requireClientCert?: boolean };
  /** Time source, ms since the epoch: JWT time checks, token TTLs, KV timestamps. Default `Date.now`. */
  clock?: () => number;
  /** The one namespace this server serves (`X-Vault-Namespace`); others get 404. Default `""` (root). */
  namespace?: string;
  /** JWT auth mounts (`auth/{name}`). Default `["jwt"]`. */
  jwtMounts?: string[];
  /** KV version 2 mounts. Default `["secret"]`. */
  kvMounts?: string[];
  /** Transit mounts. Default `["transit"]`. */
  transitMounts?: string[];
  /** Mount default lease TTL, seconds. Default 2 764 800 (768 h, Vault's). */
  defaultLeaseTtlSeconds?: number;
  /** Mount maximum lease TTL, seconds. Default 2 764 800 (768 h). */
  maxLeaseTtlSeconds?: number;
}

/** A request the local Vault answered: never a token or a body. */
export interface LocalVaultRequest {
  method: string;
  /** Path below `/v1/`, without the query. */
  path: string;
  status: number;
  namespace: string;
  /** Server clock when it arrived, ms. */
  at: number;
}

/** A token the local Vault issued, as tests may see it (no token value). */
export interface LocalVaultToken {
  accessor: string;
  policies: string[];
  type: "service" | "batch";
  renewable: boolean;
  issueTime: number;
  expireTime: number;
  revoked: boolean;
}

/** A queued failure: the next `count` matching requests get this status and errors. */
export interface LocalVaultFault {
  status: number;
  errors?: string[];
  count?: number;
  /** Only requests whose path starts with this (e.g. `auth/token/renew-self`). Default: any. */
  pathPrefix?: string;
}

/** A running local Vault. */
export interface LocalVault {
  /** `http(s)://127.0.0.1:PORT`, for `VAULT_ADDR`. */
  readonly address: string;
  readonly port: number;
  /** Token with the `root` policy, for setup requests. */
  readonly rootToken: string;
  /** Requests answered so far. */
  readonly requests: readonly LocalVaultRequest[];
  /** Tokens issued by logins so far. */
  readonly tokens: readonly LocalVaultToken[];
  /** `POST auth/{mount}/config`, e.g. `{ oidc_discovery_url, bound_issuer }`. Throws Vault's error. */
  configureJwt(config: Record<string, unknown>, options?: { mount?: string }): Promise<void>;
  /** `POST auth/{mount}/role/{name}` with a JSON body (object or text, as `vault write … -<<EOF` sends it); returns Vault's warnings. */
  writeRole(name: string, role: Record<string, unknown> | string, options?: { mount?: string }): string[];
  /** `PUT sys/policies/acl/{name}` (HCL or JSON). */
  writePolicy(name: string, policy: string): void;
  /** `POST {mount}/keys/{name}` (aes256-gcm96). */
  createTransitKey(name: string, options?: { mount?: string }): void;
  /** Revokes every issued token (as an operator would), so the next use gets 403. */
  revokeAllTokens(): void;
  /**
   * Outage switch. `false` with mode `"sealed"` (default) answers every request 503
   * `Vault is sealed`; mode `"refuse"` closes the listener (connection refused) and
   * `setAvailable(true)` listens again on the same port.
   */
  setAvailable(available: boolean, options?: { mode?: "sealed" | "refuse" }): Promise<void>;
  /** Queues a failure for the next matching request(s). */
  failNext(fault: LocalVaultFault): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

const DEFAULT_TTL = 768 * 3600;

/**
 * Starts a local Vault/OpenBao API server on 127.0.0.1 (port 0) that follows Vault's
 * documented behaviour for JWT auth, token renewal, KV v2, transit and ACL policies.
 */
export async function startLocalVault(options: LocalVaultOptions = {}): Promise<LocalVault> {
  const clock = options.clock ?? Date.now;
  const namespace = (options.namespace ?? "").replace(/^\/+|\/+$/g, "");
  const maxLeaseTtl = options.maxLeaseTtlSeconds ?? DEFAULT_TTL;
  const tokens = new TokenStore({ defaultLeaseTtl: options.defaultLeaseTtlSeconds ?? DEFAULT_TTL, maxLeaseTtl }, clock);
  const state: RouterState = {
    namespace,
    rootToken: `hvs.${randomBytes(24).toString("base64url")}`,
    tokens,
    jwtMounts: new Map(
      (options.jwtMounts ?? ["jwt"]).map((m) => [m, new JwtAuthMount(`auth/${m}/`, tokens, clock, namespace)]),
    ),
    kvMounts: new Map((options.kvMounts ?? ["secret"]).map((m) => [m, new Kv2Engine(clock)])),
    transitMounts: new Map((options.transitMounts ?? ["transit"]).map((m) => [m, new TransitEngine(clock)])),
    policies: new Map<string, Policy>(),
    maxLeaseTtl,
  };
  const requests: LocalVaultRequest[] = [];
  const faults: LocalVaultFault[] = [];
  let sealed = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://vault.invalid");
    const path = url.pathname.replace(/^\/v1\//, "");
    const ns = String(req.headers["x-vault-namespace"] ?? "").replace(/^\/+|\/+$/g, "");
    const at = clock();
    const answer = (status: number, body: unknown) => {
      requests.push({ method: req.method ?? "", path, status, namespace: ns, at });
      if (body === undefined) {
        res.writeHead(status, { "cache-control": "no-store" }).end();
      } else {
        sendJson(res, status, body);
      }
    };
    try {
      const text = await readBody(req);
      if (sealed) return answer(503, { errors: ["Vault is sealed"] });
      const faultAt = faults.findIndex((f) => f.pathPrefix === undefined || path.startsWith(f.pathPrefix));
      if (faultAt >= 0) {
        const fault = faults[faultAt]!;
        fault.count = (fault.count ?? 1) - 1;
        if (fault.count <= 0) faults.splice(faultAt, 1);
        return answer(fault.status, { errors: fault.errors ?? [] });
      }
      if (!url.pathname.startsWith("/v1/")) return answer(404, { errors: [] });
      if (path === "sys/health" && req.method === "GET") {
        return answer(200, {
          initialized: true,
          sealed: false,
          standby: false,
          performance_standby: false,
          server_time_utc: Math.floor(at / 1000),
          version: "1.20.0+confspace-local",
        });
      }
      let body: ReturnType<typeof parseRequestJson>;
      try {
        body = req.method === "GET" || req.method === "DELETE" ? {} : parseRequestJson(text);
      } catch (error) {
        return answer(400, { errors: [`failed to parse JSON input: ${(error as Error).message}`] });
      }
      const header = req.headers["x-vault-token"];
      const { result, read } = await route(state, {
        method: req.method ?? "GET",
        path,
        query: url.searchParams,
        body,
        token: typeof header === "string" && header !== "" ? header : undefined,
        namespace: ns,
        remoteAddress: req.socket.remoteAddress ?? "",
      });
      if (result === undefined) return answer(read ? 404 : 204, read ? { errors: [] } : undefined);
      return answer(result.status ?? 200, envelope(result));
    } catch (error) {
      if (error instanceof BodyTooLargeError) return answer(413, { errors: ["request body too large"] });
      if (error instanceof FieldError) return answer(400, { errors: [error.message] });
      if (error instanceof VaultHttpError) return answer(error.status, { ...error.body, errors: error.errors });
      return answer(500, { errors: [(error as Error).message] });
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server: Server =
    options.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ca: options.tls.ca,
            requestCert: options.tls.requireClientCert === true,
            rejectUnauthorized: options.tls.requireClientCert === true,
          },
          listener,
        );
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const address = `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`;
  const mountOf = <T>(map: Map<string, T>, name: string | undefined, fallback: string, kind: string): T => {
    const found = map.get(name ?? fallback);
    if (found === undefined) throw new Error(`the local Vault has no ${kind} mount ${name ?? fallback}`);
    return found;
  };
  const firstJwt = [...state.jwtMounts.keys()][0] ?? "jwt";
  const firstTransit = [...state.transitMounts.keys()][0] ?? "transit";

  return {
    address,
    port,
    rootToken: state.rootToken,
    requests,
    get tokens() {
      return tokens.entries.map((e) => ({
        accessor: e.accessor,
        policies: e.policies,
        type: e.type,
        renewable: e.renewable,
        issueTime: e.issueTime,
        expireTime: e.expireTime,
        revoked: e.revoked || clock() >= e.expireTime,
      }));
    },
    async configureJwt(config, opts) {
      await mountOf(state.jwtMounts, opts?.mount, firstJwt, "JWT auth").writeConfig(
        parseRequestJson(JSON.stringify(config)),
      );
    },
    writeRole(name, role, opts) {
      const text = typeof role === "string" ? role : JSON.stringify(role);
      const result = mountOf(state.jwtMounts, opts?.mount, firstJwt, "JWT auth").writeRole(
        name,
        parseRequestJson(text),
        maxLeaseTtl,
      );
      return result?.warnings ?? [];
    },
    writePolicy(name, policy) {
      state.policies.set(name, parsePolicy(policy));
    },
    createTransitKey(name, opts) {
      mountOf(state.transitMounts, opts?.mount, firstTransit, "transit").createKey(name);
    },
    revokeAllTokens() {
      for (const entry of tokens.entries) tokens.revoke(entry);
    },
    async setAvailable(available, opts) {
      const mode = opts?.mode ?? "sealed";
      if (available) {
        sealed = false;
        if (!server.listening) await listen(port);
      } else if (mode === "sealed") {
        sealed = true;
      } else {
        await closeServer(server);
      }
    },
    failNext(fault) {
      faults.push({ ...fault });
    },
    clearFaults() {
      faults.length = 0;
    },
    async stop() {
      await closeServer(server);
    },
  };
}
