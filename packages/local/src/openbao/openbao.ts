import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidOptionError } from "@confspace/core";
import type { TestPki } from "../tls.js";
import { type AdminResponse, type AdminTls, adminRequest } from "./internal/admin.js";
import { findServerBinary, type ServerBinary } from "./internal/binary.js";
import { renderConfig } from "./internal/config.js";
import { operatorInit } from "./internal/operator-init.js";
import { startServerProcess, stopServerProcess } from "./internal/process.js";
import { checkTransitSeal, type OpenBaoTransitSeal, renderTransitSeal } from "./internal/transit-seal.js";

export type { OpenBaoTransitSeal };

/** Options of {@link startOpenBao}. */
export interface OpenBaoOptions {
  /**
   * Serve HTTPS with the test PKI's server certificate. `requireClientCert` demands a
   * client certificate signed by the PKI's CA (mTLS); the helper's own setup calls send
   * the PKI's client certificate. Default: plain HTTP.
   */
  tls?: { pki: TestPki; requireClientCert?: boolean };
  /**
   * Raft storage in the temp dir instead of memory, so tokens, roles and secrets survive
   * {@link OpenBao.stop} and {@link OpenBao.start}. Costs about two seconds of Raft
   * election at the first start. Default `false`.
   */
  persistent?: boolean;
  /**
   * Auto-unseal: a `seal "transit"` stanza pointing at a transit-compatible key service.
   * The server is then initialised with `bao operator init -recovery-shares=1
   * -recovery-threshold=1` (recovery key, no unseal key), unseals itself at every start,
   * and {@link OpenBao.start} fails with OpenBao's own message when the key service refuses.
   * Default: Shamir with one key share, unsealed by the helper.
   */
  seal?: OpenBaoTransitSeal;
}

/** `sys/seal-status`, the fields tests look at. */
export interface OpenBaoSealStatus {
  /** `shamir` or `transit`. */
  type: string;
  initialized: boolean;
  sealed: boolean;
}

/** A request through {@link OpenBao.request}. */
export interface OpenBaoRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "LIST";
  /** Below `/v1/`, e.g. `auth/jwt/role/app`. */
  path: string;
  /** JSON body: an object, or text sent byte for byte (as `vault write … - <<EOF` sends it). */
  body?: unknown;
  namespace?: string;
  /** Statuses returned instead of thrown. */
  accept?: readonly number[];
}

/** A running OpenBao (or HashiCorp Vault) server on loopback, initialised and unsealed. */
export interface OpenBao extends AsyncDisposable {
  /** `http(s)://127.0.0.1:PORT`, for `VAULT_ADDR`. Stays the same across stop/start. */
  readonly address: string;
  readonly port: number;
  /** The server's version from `sys/health`, e.g. `2.7.2`. */
  readonly version: string;
  /** The binary that runs it and where it was found (`BAO_BIN`, `VAULT_BIN`, `.tools/bin/bao`). */
  readonly binary: ServerBinary;
  /** Whether the process is running. */
  readonly running: boolean;
  /** The server process's id while it runs (e.g. to read its CPU time from `/proc`), else `undefined`. */
  readonly pid: number | undefined;
  /**
   * A request with the root token, for setup code (roles, policies, mounts, revocations).
   * Throws an error naming the status and the server's `errors` for any status that is
   * not 2xx or in `accept`. The root token itself is never handed out.
   */
  request(request: OpenBaoRequest): Promise<AdminResponse>;
  /** `sys/seal`: from now on the server answers 503 `Vault is sealed` until {@link OpenBao.unseal}. */
  seal(): Promise<void>;
  /**
   * Unseals with the one key share and waits until the server is active again. An
   * auto-unseal server (`seal` option) unseals itself only when it starts: this throws —
   * use {@link OpenBao.stop} and {@link OpenBao.start}.
   */
  unseal(): Promise<void>;
  /** `sys/seal-status` (unauthenticated): initialised, sealed, seal type. */
  sealStatus(): Promise<OpenBaoSealStatus>;
  /** Stops the process (SIGTERM); the port is then closed (connection refused). */
  stop(): Promise<void>;
  /**
   * Starts it again on the same port and unseals it (`persistent` servers only: memory
   * storage is gone). An auto-unseal server unseals itself; when its key service refuses,
   * OpenBao exits and this rejects with the last lines of its log (e.g. `Error configuring
   * seal "transit": … Code: 403`), and {@link OpenBao.running} is `false`.
   */
  start(): Promise<void>;
  /** Stops the process and deletes its temp dir. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a real OpenBao server (`bao server` with a generated config, not `-dev`) on
 * 127.0.0.1 with a port the server picks itself, initialises it with one key share,
 * unseals it, and enables KV version 2 at `secret/`, transit at `transit/` and JWT auth
 * at `auth/jwt/`. About 0.4 s (in-memory storage). The binary is `BAO_BIN`, `VAULT_BIN`
 * or `<repo>/.tools/bin/bao` (run `bash scripts/tools.sh`); without one this throws.
 * With `seal`, it auto-unseals through a transit key service instead (initialised by
 * `bao operator init` with one recovery key share).
 *
 * @example
 * ```ts
 * await using bao = await startOpenBao();
 * await bao.request({ method: "POST", path: "auth/jwt/config", body: { jwks_url, bound_issuer } });
 * ```
 */
export async function startOpenBao(options: OpenBaoOptions = {}): Promise<OpenBao> {
  for (const key of Object.keys(options)) {
    if (key !== "tls" && key !== "persistent" && key !== "seal") {
      throw new InvalidOptionError(key, `startOpenBao: unknown option ${key}`);
    }
  }
  if (options.seal !== undefined) checkTransitSeal(options.seal);
  const binary = findServerBinary();
  const dir = await mkdtemp(join(tmpdir(), "confspace-openbao-"));
  try {
    return await Server.start(binary, dir, options);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class Server implements OpenBao {
  readonly binary: ServerBinary;
  readonly #dir: string;
  readonly #options: OpenBaoOptions;
  readonly #tls: AdminTls | undefined;
  #child: ChildProcess | undefined;
  #port = 0;
  #version = "";
  #rootToken = "";
  #unsealKey = "";
  #closed = false;

  private constructor(binary: ServerBinary, dir: string, options: OpenBaoOptions) {
    this.binary = binary;
    this.#dir = dir;
    this.#options = options;
    const pki = options.tls?.pki;
    this.#tls = pki === undefined ? undefined : { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem };
  }

  static async start(binary: ServerBinary, dir: string, options: OpenBaoOptions): Promise<Server> {
    const server = new Server(binary, dir, options);
    try {
      await server.#launch(0);
      if (options.seal === undefined) {
        const init = await server.#admin("PUT", "sys/init", { secret_shares: 1, secret_threshold: 1 });
        const keys = init.body?.keys_base64 as string[] | undefined;
        if (init.status !== 200 || typeof init.body?.root_token !== "string" || keys?.[0] === undefined) {
          throw new Error(`sys/init answered ${init.status}`);
        }
        server.#rootToken = init.body.root_token;
        server.#unsealKey = keys[0];
        await server.unseal();
      } else {
        const pki = options.tls?.pki;
        const cliTls =
          pki === undefined
            ? undefined
            : { caPath: pki.caPath, clientCertPath: pki.clientCertPath, clientKeyPath: pki.clientKeyPath };
        const init = await operatorInit(binary.path, server.address, cliTls);
        server.#rootToken = init.rootToken;
        await server.#waitActive("initialising");
      }
      await server.request({
        method: "POST",
        path: "sys/mounts/secret",
        body: { type: "kv", options: { version: "2" } },
      });
      await server.#kvReady("secret");
      await server.request({ method: "POST", path: "sys/mounts/transit", body: { type: "transit" } });
      await server.request({ method: "POST", path: "sys/auth/jwt", body: { type: "jwt" } });
      return server;
    } catch (error) {
      if (server.#child !== undefined) await stopServerProcess(server.#child);
      throw error;
    }
  }

  get address(): string {
    return `${this.#tls === undefined ? "http" : "https"}://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get version(): string {
    return this.#version;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async request(request: OpenBaoRequest): Promise<AdminResponse> {
    const response = await adminRequest(this.address, this.#tls, { ...request, token: this.#rootToken });
    if ((response.status < 200 || response.status > 299) && !request.accept?.includes(response.status)) {
      const errors = JSON.stringify(response.body?.errors ?? response.body);
      throw new Error(`${request.method} ${request.path}: ${response.status} ${errors}`);
    }
    return response;
  }

  async seal(): Promise<void> {
    await this.request({ method: "POST", path: "sys/seal" });
  }

  async unseal(): Promise<void> {
    if (this.#options.seal !== undefined) {
      throw new Error("OpenBao: an auto-unseal server unseals itself when it starts; stop() and start() it");
    }
    const unsealed = await this.#admin("PUT", "sys/unseal", { key: this.#unsealKey });
    if (unsealed.status !== 200 || unsealed.body?.sealed !== false)
      throw new Error(`sys/unseal answered ${unsealed.status}`);
    await this.#waitActive("unsealing");
  }

  async sealStatus(): Promise<OpenBaoSealStatus> {
    const status = await this.#admin("GET", "sys/seal-status");
    if (status.status !== 200) throw new Error(`sys/seal-status answered ${status.status}`);
    return {
      type: String(status.body?.type ?? ""),
      initialized: status.body?.initialized === true,
      sealed: status.body?.sealed !== false,
    };
  }

  /**
   * Unsealed is not yet active: waits until sys/health says active (200), up to 20 s (Raft
   * elects first; an auto-unseal server first asks its key service). Fails at once, quoting
   * the log, when the process exits meanwhile.
   */
  async #waitActive(after: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const child = this.#child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
        this.#child = undefined;
        throw new Error(`OpenBao exited while ${after}; its log:\n${await this.#logTail()}`);
      }
      const health = await this.#admin("GET", "sys/health").catch(() => undefined);
      if (health?.status === 200) {
        this.#version = String(health.body?.version ?? "");
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `not active 20 s after ${after} (sys/health ${health?.status}); its log:\n${await this.#logTail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #logTail(): Promise<string> {
    const text = await readFile(join(this.#dir, "server.log"), "utf8").catch(() => "");
    return text.split("\n").slice(-15).join("\n");
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined) await stopServerProcess(child);
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error("OpenBao: start() after close()");
    if (this.#options.persistent !== true) {
      throw new Error("OpenBao: start() again needs persistent: true (in-memory storage is gone with the process)");
    }
    if (this.#child !== undefined) return;
    await this.#launch(this.#port);
    if (this.#options.seal === undefined) await this.unseal();
    else await this.#waitActive("starting");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #launch(port: number): Promise<void> {
    const raftPath = this.#options.persistent === true ? join(this.#dir, "raft") : undefined;
    if (raftPath !== undefined) await mkdir(raftPath, { recursive: true });
    const pki = this.#options.tls?.pki;
    const config = renderConfig({
      port,
      raftPath,
      vault: this.binary.vault,
      seal: this.#options.seal === undefined ? undefined : renderTransitSeal(this.#options.seal),
      tls:
        pki === undefined
          ? undefined
          : {
              certPath: pki.serverCertPath,
              keyPath: pki.serverKeyPath,
              caPath: pki.caPath,
              requireClientCert: this.#options.tls?.requireClientCert === true,
            },
    });
    const configPath = join(this.#dir, "server.hcl");
    await writeFile(configPath, config, { mode: 0o600 });
    const started = await startServerProcess(this.binary.path, configPath, join(this.#dir, "server.log"), port);
    this.#child = started.child;
    this.#port = started.port;
  }

  /**
   * A new KV v2 mount first upgrades its storage in the background and answers 400
   * `Upgrading from non-versioned to versioned data…` until done (longer on a loaded
   * machine): wait until its config reads, up to 20 s.
   */
  async #kvReady(mount: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      // Both the config and the data paths go through the upgrade check; an absent secret reads 404 once ready.
      const config = await this.request({ method: "GET", path: `${mount}/config`, accept: [400, 503] });
      const probe = await this.request({
        method: "GET",
        path: `${mount}/data/confspace-ready`,
        accept: [400, 404, 503],
      });
      if (config.status === 200 && probe.status === 404) return;
      if (Date.now() > deadline) {
        throw new Error(`KV v2 at ${mount}/ not ready 20 s after mounting (${config.status}, ${probe.status})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #admin(method: string, path: string, body?: unknown): Promise<AdminResponse> {
    return adminRequest(this.address, this.#tls, { method, path, body });
  }
}
