import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, sleep, startHarness } from "../test/harness.js";

// node-vault 0.12.0 is CommonJS; the official-looking client many Node apps already use.
const nodeVault = createRequire(import.meta.url)("node-vault") as (options: Record<string, unknown>) => {
  token?: string;
  read(path: string, options?: Record<string, unknown>): Promise<{ data: Record<string, unknown> }>;
  write(path: string, data: unknown, options?: Record<string, unknown>): Promise<{ data?: Record<string, unknown> }>;
  tokenLookupSelf(args?: Record<string, unknown>): Promise<{ data: { policies: string[] } }>;
};

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

describe("node-vault 0.12.0 with the confspace token", () => {
  it("reads and writes KV v2 with a per-call token from tokenProvider", async () => {
    h = await startHarness();
    const vault = h.client();
    const nv = nodeVault({ apiVersion: "v1", endpoint: vault.address });
    const headers = async () => ({ headers: { "X-Vault-Token": await vault.tokenProvider() } });
    await nv.write("secret/data/app/node-vault", { data: { greeting: "hello" } }, await headers());
    const read = await nv.read("secret/data/app/node-vault", await headers());
    expect(read.data.data).toEqual({ greeting: "hello" });
    const self = await nv.tokenLookupSelf({ requestOptions: await headers() });
    expect(self.data.policies).toEqual(["app", "default"]);
    expect(h.count("auth/jwt/login")).toBe(1);
  });

  it("keeps working through a revoked token: withToken logs in again once on node-vault's 403", async () => {
    h = await startHarness();
    const vault = h.client({ reloginCooldownMs: 0 });
    const nv = nodeVault({ apiVersion: "v1", endpoint: vault.address });
    const read = () =>
      vault.withToken((token) => {
        nv.token = token;
        return nv.read("secret/data/app/node-vault-2");
      });
    await vault.withToken((token) => {
      nv.token = token;
      return nv.write("secret/data/app/node-vault-2", { data: { n: 1 } });
    });
    expect((await read()).data.data).toEqual({ n: 1 });
    await h.bao.request({ method: "POST", path: "auth/token/revoke", body: { token: await vault.token() } });
    expect((await read()).data.data).toEqual({ n: 1 });
    expect(h.count("secret/data/app/node-vault-2", 403)).toBe(1);
    expect(h.count("auth/jwt/login", 200)).toBe(2);
  });

  it("stays renewed while node-vault is used over several leases", async () => {
    h = await startHarness({ role: { token_ttl: 2, token_explicit_max_ttl: 3 } });
    const vault = h.client({ random: () => 0.5 });
    const nv = nodeVault({ apiVersion: "v1", endpoint: vault.address });
    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      const { data } = await vault.withToken((token) =>
        nv.tokenLookupSelf({ requestOptions: { headers: { "X-Vault-Token": token } } }),
      );
      expect(data.policies).toContain("app");
      await sleep(200);
    }
    expect(h.proxy.requests.filter((r) => r.status === 403)).toEqual([]);
    expect(h.count("auth/token/renew-self", 200)).toBeGreaterThan(0);
    expect(h.count("auth/jwt/login", 200)).toBeGreaterThanOrEqual(2);
  });
});
