// Test harness for @confspace/vault-jwt: the Confidential Space emulator and a real
// OpenBao server (from @confspace/testing) on loopback, JWT auth configured for the
// emulator's issuer, a fault proxy in front of it that records every request, and a
// logger that records every line for secrecy checks. Real OpenBao runs on real time:
// lifecycle tests use TTLs of a few seconds and wait for events, never for fixed sleeps.
import type { AttestationTokenSource } from "@confspace/attestation";
import type { Logger } from "@confspace/core";
import { type Emulator, startEmulator } from "@confspace/emulator";
import {
  type OpenBao,
  type OpenBaoOptions,
  startOpenBao,
  startVaultFaultProxy,
  type VaultFaultProxy,
} from "@confspace/testing";
import type { ExpectStatic } from "vitest";
import { VaultJwtClient, type VaultJwtClientOptions } from "../src/index.js";

export const AUDIENCE = "https://vault.confspace.test";

/** The policy of role `app`: KV v2 below `app/`, transit key `app-key`. */
export const APP_POLICY = `path "secret/data/app/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/app/*" { capabilities = ["read", "delete"] }
path "secret/delete/app/*" { capabilities = ["update"] }
path "secret/undelete/app/*" { capabilities = ["update"] }
path "secret/destroy/app/*" { capabilities = ["update"] }
path "transit/+/app-key" { capabilities = ["create", "update"] }
path "transit/datakey/+/app-key" { capabilities = ["update"] }`;

/** Records every log line (message and fields) as JSON text. */
export function recordingLogger(lines: string[]): Logger {
  const write = (level: string) => (message: string, fields?: object) =>
    lines.push(JSON.stringify({ level, message, fields }));
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

export interface Harness {
  emulator: Emulator;
  bao: OpenBao;
  /** In front of `bao`; clients from {@link Harness.client} talk to it. */
  proxy: VaultFaultProxy;
  logs: string[];
  digest: string;
  /** A client on the emulator's launcher and a recording logger, through the proxy (or `address`). */
  client(options?: VaultJwtClientOptions): VaultJwtClient;
  /** Requests through the proxy by path prefix (and status). */
  count(pathPrefix: string, status?: number): number;
  /** Writes role `name` (JSON object, or text sent verbatim); returns OpenBao's warnings. */
  writeRole(name: string, role: Record<string, unknown> | string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Role `app`'s defaults; tests override fields with `role`. */
export function appRole(digest: string, role: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    role_type: "jwt",
    user_claim: "sub",
    bound_audiences: [AUDIENCE],
    bound_claims: { "/submods/container/image_digest": [digest] },
    claim_mappings: { jti: "jti" },
    token_policies: ["app"],
    token_ttl: 60,
    token_max_ttl: 600,
    ...role,
  };
}

/**
 * The operator's setup on a running server, as the README's commands make it: JWT auth
 * for the emulator's issuer (`oidc_discovery_url`, `bound_issuer`), policy and role `app`,
 * transit key `app-key`. In `namespace` (created, with its own mounts) when given.
 */
export async function setUpOpenBao(
  bao: OpenBao,
  emulator: Emulator,
  options: { role?: Record<string, unknown>; namespace?: string } = {},
): Promise<{ digest: string; writeRole(name: string, role: Record<string, unknown> | string): Promise<string[]> }> {
  const namespace = options.namespace;
  if (namespace !== undefined) {
    await bao.request({ method: "POST", path: `sys/namespaces/${namespace}` });
    await bao.request({ method: "POST", path: "sys/auth/jwt", body: { type: "jwt" }, namespace });
    await bao.request({
      method: "POST",
      path: "sys/mounts/secret",
      body: { type: "kv", options: { version: "2" } },
      namespace,
    });
    // A new KV v2 mount answers 400 "Upgrading from non-versioned to versioned data" for a moment.
    await eventually(async () => {
      const probe = await bao.request({ method: "GET", path: "secret/data/ready", namespace, accept: [400, 404] });
      if (probe.status !== 404) throw new Error(`secret/ in ${namespace} not ready: ${probe.status}`);
    });
    await bao.request({ method: "POST", path: "sys/mounts/transit", body: { type: "transit" }, namespace });
  }
  await bao.request({
    method: "POST",
    path: "auth/jwt/config",
    body: { oidc_discovery_url: emulator.issuer, bound_issuer: emulator.issuer },
    namespace,
  });
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const writeRole = async (name: string, role: Record<string, unknown> | string) => {
    const { body } = await bao.request({
      method: "POST",
      path: `auth/jwt/role/${name}`,
      body: typeof role === "string" ? role : JSON.stringify(role),
      namespace,
    });
    return (body?.warnings as string[] | null | undefined) ?? [];
  };
  await writeRole("app", appRole(digest, options.role));
  await bao.request({ method: "PUT", path: "sys/policies/acl/app", body: { policy: APP_POLICY }, namespace });
  await bao.request({ method: "POST", path: "transit/keys/app-key", namespace });
  return { digest, writeRole };
}

/** Starts the emulator, OpenBao configured for the emulator's issuer with role `app`, and the proxy. */
export async function startHarness(
  options: { bao?: OpenBaoOptions; role?: Record<string, unknown> } = {},
): Promise<Harness> {
  const emulator = await startEmulator({ writeTokenFile: false });
  const bao = await startOpenBao(options.bao);
  const proxy = await startVaultFaultProxy({ target: bao.address });
  const { digest, writeRole } = await setUpOpenBao(bao, emulator, { role: options.role });
  const logs: string[] = [];
  const clients: VaultJwtClient[] = [];
  return {
    emulator,
    bao,
    proxy,
    logs,
    digest,
    writeRole,
    client(clientOptions = {}) {
      const client = new VaultJwtClient({
        address: proxy.address,
        role: "app",
        audience: AUDIENCE,
        launcher: { socketPath: emulator.socketPath },
        logger: recordingLogger(logs),
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    count: (prefix, status) => proxy.count(prefix, status),
    async stop() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await proxy.close();
      await bao.close();
      await emulator.stop();
    },
  };
}

/** A token source handing out the given tokens in turn (the last one repeatedly), recording calls. */
export function scriptedSource(tokens: Array<() => Promise<string>>): AttestationTokenSource & { calls: number } {
  const source = {
    calls: 0,
    async getToken() {
      const next = tokens[Math.min(source.calls, tokens.length - 1)]!;
      source.calls += 1;
      return next();
    },
  };
  return source;
}

/** Real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check` passes, then returns; fails with its last error after `timeoutMs` (generous: CI is slow). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(25);
    }
  }
}

/**
 * Runs `test` with a fresh harness (and the test's own `expect`, for concurrent tests),
 * always stopped afterwards; if the test fails, what the proxy saw is printed.
 */
export function withHarness(
  options: Parameters<typeof startHarness>[0],
  test: (h: Harness, expect: ExpectStatic) => Promise<void>,
) {
  return async ({ expect, onTestFailed }: { expect: ExpectStatic; onTestFailed: (fn: () => void) => void }) => {
    const h = await startHarness(options);
    onTestFailed(() => printRequests(h));
    try {
      await test(h, expect);
    } finally {
      await h.stop();
    }
  };
}

/** When requests to exactly `path` (below `/v1/`), with `status` if given, reached the proxy (ms epoch). */
export function arrivals(h: Harness, path: string, status?: number): number[] {
  return h.proxy.requests
    .filter((r) => r.path === `/v1/${path}` && (status === undefined || r.status === status))
    .map((r) => r.at);
}

/** Prints what the proxy saw (path, status, ms since the first request) and the client's log lines: for a failed test. */
export function printRequests(h: Harness): void {
  const start = h.proxy.requests[0]?.at ?? 0;
  console.log(
    h.proxy.requests.map((r) => `${r.at - start} ms ${r.method} ${r.path} ${r.status}`).join("\n"),
    `\n${h.logs.filter((line) => !line.includes("launcher")).join("\n")}`,
  );
}
