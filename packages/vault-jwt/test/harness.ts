// Test harness for @confspace/vault-jwt: the Confidential Space emulator and the local
// Vault from @confspace/testing on loopback, a manual clock shared by the client, the
// server and the emulator, and a logger that records every line for secrecy checks.
import type { AttestationTokenSource } from "@confspace/attestation";
import type { Clock, Logger } from "@confspace/core";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { type LocalVault, type LocalVaultOptions, startLocalVault } from "@confspace/testing";
import { VaultJwtClient, type VaultJwtClientOptions } from "../src/index.js";

export const AUDIENCE = "https://vault.confspace.test";

/** A clock whose time moves only when a test says so; due timers run in order. */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by `ms` in steps of at most `stepMs`, running due timers and letting real I/O settle after each. */
  async advance(ms: number, stepMs = 250): Promise<void> {
    const target = this.#now + ms;
    while (this.#now < target) {
      const next = Math.min(target, this.#now + stepMs);
      for (;;) {
        const due = [...this.#timers].filter(([, t]) => t.at <= next).sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        this.#timers.delete(due[0]);
        this.#now = Math.max(this.#now, due[1].at);
        due[1].callback();
        await settle();
      }
      this.#now = next;
      await settle();
    }
  }
}

/** Lets promise callbacks and loopback I/O finish (a few real milliseconds). */
export async function settle(ms = 15): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records every log line (message and fields) as JSON text. */
export function recordingLogger(lines: string[]): Logger {
  const write = (level: string) => (message: string, fields?: object) =>
    lines.push(JSON.stringify({ level, message, fields }));
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

export interface Harness {
  emulator: Emulator;
  vault: LocalVault;
  clock: ManualClock;
  logs: string[];
  digest: string;
  /** A client on the emulator's launcher, the manual clock and a recording logger. */
  client(options?: VaultJwtClientOptions): VaultJwtClient;
  /** Counts of server requests by path prefix. */
  count(pathPrefix: string, status?: number): number;
  stop(): Promise<void>;
}

/** Starts the emulator and a local Vault configured for the emulator's issuer, with role `app`. */
export async function startHarness(
  options: { vault?: LocalVaultOptions; role?: Record<string, unknown>; clock?: ManualClock } = {},
): Promise<Harness> {
  const clock = options.clock ?? new ManualClock();
  const emulator = await startEmulator({ writeTokenFile: false, now: () => clock.now(), tokenLifetimeSeconds: 3600 });
  const vault = await startLocalVault({ clock: () => clock.now(), ...options.vault });
  await vault.configureJwt({ oidc_discovery_url: emulator.issuer, bound_issuer: emulator.issuer });
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  vault.writeRole("app", {
    role_type: "jwt",
    user_claim: "sub",
    bound_audiences: [AUDIENCE],
    bound_claims: { "/submods/container/image_digest": [digest] },
    claim_mappings: { jti: "jti" },
    token_policies: ["app"],
    token_ttl: 30,
    token_max_ttl: 300,
    ...options.role,
  });
  vault.writePolicy(
    "app",
    `path "secret/data/app/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/app/*" { capabilities = ["read", "delete"] }
path "secret/delete/app/*" { capabilities = ["update"] }
path "secret/undelete/app/*" { capabilities = ["update"] }
path "secret/destroy/app/*" { capabilities = ["update"] }
path "transit/+/app-key" { capabilities = ["create", "update"] }
path "transit/datakey/+/app-key" { capabilities = ["update"] }`,
  );
  vault.createTransitKey("app-key");
  const logs: string[] = [];
  const clients: VaultJwtClient[] = [];
  return {
    emulator,
    vault,
    clock,
    logs,
    digest,
    client(clientOptions = {}) {
      const client = new VaultJwtClient({
        address: vault.address,
        role: "app",
        audience: AUDIENCE,
        launcher: { socketPath: emulator.socketPath },
        clock,
        logger: recordingLogger(logs),
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    count(prefix, status) {
      return vault.requests.filter((r) => r.path.startsWith(prefix) && (status === undefined || r.status === status))
        .length;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.dispose()));
      await vault.stop();
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

/** Waits (in real time, the manual clock standing still) until `check` passes, then returns; fails after `timeoutMs`. */
export async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await settle(20);
    }
  }
}
