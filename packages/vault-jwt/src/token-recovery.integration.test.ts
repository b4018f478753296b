// Recovery against real OpenBao, on real time: a revoked token (403), OpenBao sealed
// (503), a rate-limit quota (429), stopped and started again on the same port
// (connection refused), and — through the fault proxy — a request held up until its token
// expired. Each test has its own server, so they run concurrently.
import { describe, it } from "vitest";
import { arrivals as at, eventually, type Harness, sleep, withHarness } from "../test/harness.js";
import { VaultError, VaultUnavailableError } from "./index.js";

const half = () => 0.5;
const quickRetry = { initialDelayMs: 200, maxDelayMs: 400 };

/** Revokes `token` as an operator would (`auth/token/revoke`). */
async function revoke(h: Harness, token: string): Promise<void> {
  await h.bao.request({ method: "POST", path: "auth/token/revoke", body: { token } });
}

describe.concurrent("403 on use", () => {
  it(
    "logs in again once after a 403 and retries once; a fresh token that is refused gets no login — never a loop",
    withHarness({}, async (h, expect) => {
      const client = h.client({ reloginCooldownMs: 500 });
      await client.kv().write("app/config", { a: "1" });
      await sleep(600);
      await revoke(h, await client.token());
      expect((await client.kv().read("app/config"))?.data).toEqual({ a: "1" });
      expect(h.count("auth/jwt/login", 200)).toBe(2);
      expect(h.count("secret/data/app/config", 403)).toBe(1);

      // A path the policy does not grant: the fresh token is refused, no login helps.
      await expect(client.kv().read("other/secret")).rejects.toMatchObject({
        status: 403,
        errors: ["1 error occurred:\n\t* permission denied\n\n"],
      });
      expect(h.count("auth/jwt/login")).toBe(2);
      // Past the cooldown: exactly one more login, then the 403 is thrown.
      await sleep(600);
      const error = await client
        .kv()
        .read("other/secret")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VaultError);
      expect(h.count("auth/jwt/login")).toBe(3);
      expect(h.count("secret/data/other/secret", 403)).toBe(3);
    }),
  );

  it(
    "after a 403, requests that still hold the old token reuse the new login instead of each logging in again",
    withHarness({}, async (h, expect) => {
      const client = h.client({ reloginCooldownMs: 0 });
      await client.kv().write("app/shared", { n: 1 });
      await revoke(h, await client.token());
      // Ten requests with the revoked token; five of them are held back until the new login
      // is done, so their 403 arrives after it (the reuse path, not the single flight).
      h.proxy.delayNext(400, { pathPrefix: "/v1/secret/data/app/shared", count: 5 });
      const reads = await Promise.all(Array.from({ length: 10 }, () => client.kv().read("app/shared")));
      expect(reads.map((r) => r?.data)).toEqual(Array(10).fill({ n: 1 }));
      expect(h.count("secret/data/app/shared", 403)).toBe(10);
      expect(h.count("auth/jwt/login", 200)).toBe(2);
    }),
  );

  it(
    "a token that expired on the way (a slow request sent just before its end) gets one login, even when fresh",
    withHarness({ role: { token_ttl: 6 } }, async (h, expect) => {
      const client = h.client({ random: half });
      await client.token();
      // The renewal is held up past the token's end, so the first token is still the one served near its end.
      h.proxy.delayNext(4_500, { pathPrefix: "/v1/auth/token/renew-self" });
      const { expiresAt } = client.tokenInfo()!;
      await sleep(expiresAt - 1_000 - Date.now()); // 400 ms before the client stops using it
      h.proxy.delayNext(1_600, { pathPrefix: "/v1/auth/token/lookup-self" });
      const lookup = await client.request({ method: "GET", path: "auth/token/lookup-self" });
      expect(lookup.status).toBe(200);
      expect(h.count("auth/token/lookup-self", 403)).toBe(1); // the first attempt did arrive after expiry
      expect(h.count("auth/jwt/login", 200)).toBe(2);
    }),
  );

  it(
    "withToken retries a node-vault-style 403 with the new token",
    withHarness({}, async (h, expect) => {
      const client = h.client({ reloginCooldownMs: 0 });
      const seen: string[] = [];
      const result = await client.withToken(async (token) => {
        seen.push(token);
        if (seen.length === 1) throw Object.assign(new Error("permission denied"), { response: { statusCode: 403 } });
        return "ok";
      });
      expect(result).toBe("ok");
      expect(seen).toHaveLength(2);
      expect(seen[0]).not.toBe(seen[1]);
    }),
  );
});

describe.concurrent("OpenBao not serving", () => {
  it(
    "sealed: a typed 503 on use, renewals retried without any login while the token is valid, recovery after unseal",
    withHarness({ role: { token_ttl: 8 } }, async (h, expect) => {
      const client = h.client({ random: half, retry: quickRetry });
      const token = await client.token();
      await h.bao.seal();
      const error = await client
        .kv()
        .read("app/x")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VaultUnavailableError);
      expect(error).toMatchObject({ code: "ERR_VAULT_UNAVAILABLE", status: 503, errors: ["Vault is sealed"] });
      await eventually(() => expect(h.count("auth/token/renew-self", 503)).toBeGreaterThanOrEqual(2));
      expect(await client.token()).toBe(token); // still served: its lease has not ended
      expect(h.count("auth/jwt/login")).toBe(1);
      await h.bao.unseal();
      await eventually(() => expect(h.count("auth/token/renew-self", 200)).toBe(1));
      expect(await client.token()).toBe(token);
      expect(await client.kv().read("app/x")).toBeUndefined();
      expect(h.count("auth/jwt/login")).toBe(1);
    }),
  );

  it(
    "429 from a rate-limit quota on renew-self: no login while the token is valid, then one login once it has ended",
    withHarness({ role: { token_ttl: 3 } }, async (h, expect) => {
      // One renewal per 30 s, and this setup call spends it: every renewal of the test gets 429.
      await h.bao.request({
        method: "POST",
        path: "sys/quotas/rate-limit/renewals",
        body: { path: "auth/token/renew-self", rate: 1, interval: "30s" },
      });
      await h.bao.request({ method: "POST", path: "auth/token/renew-self", accept: [400] });
      const client = h.client({ random: half, retry: quickRetry });
      const token = await client.token();
      const { expiresAt } = client.tokenInfo()!;
      await eventually(() => expect(h.count("auth/token/renew-self", 429)).toBeGreaterThanOrEqual(2));
      expect(h.count("auth/jwt/login")).toBe(1);
      const refusal = await client.request({ method: "POST", path: "auth/token/renew-self" }).catch((e: unknown) => e);
      expect(refusal).toMatchObject({
        code: "ERR_VAULT_UNAVAILABLE",
        status: 429,
        errors: ['request path "auth/token/renew-self": rate limit quota exceeded'],
        retryAfterMs: undefined, // OpenBao sends no Retry-After by default
      });
      // Callers keep asking; once the lease has ended the next call logs in (renewals stay refused).
      await eventually(async () => {
        await client.token().catch(() => undefined);
        expect(h.count("auth/jwt/login", 200)).toBe(2);
      });
      // The second login only came once the first token could no longer be used (lease − skew).
      expect(at(h, "auth/jwt/login")[1]!).toBeGreaterThanOrEqual(expiresAt - 300 - 50);
      expect(await client.token()).not.toBe(token);
    }),
  );

  it(
    "stopped: the still-valid token keeps being served, then OpenBao back on its port renews it (Raft kept it)",
    withHarness({ bao: { persistent: true }, role: { token_ttl: 10 } }, async (h, expect) => {
      // Renewal at 60 % of the lease (6 s); the token is served until 9 s (lease − a tenth).
      const client = h.client({ random: () => 0, retry: quickRetry });
      const token = await client.token();
      const { expiresAt } = client.tokenInfo()!;
      await h.bao.stop();
      const error = await client.request({ method: "GET", path: "auth/token/lookup-self" }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "ERR_VAULT_UNAVAILABLE", status: 0 });
      await eventually(() => expect(h.count("auth/token/renew-self", 0)).toBeGreaterThanOrEqual(1));
      expect(await client.token()).toBe(token);
      expect(h.count("auth/jwt/login")).toBe(1);
      await h.bao.start(); // about 1.5 s: Raft elects itself again
      const backAt = Date.now();
      // Recovered once a renewal (retried in the background while the token is valid) or a
      // login (on the next call after its end) has gone through.
      await eventually(async () => {
        await client.token().catch(() => undefined);
        expect(h.count("auth/token/renew-self", 200) + h.count("auth/jwt/login", 200)).toBeGreaterThanOrEqual(2);
      });
      expect((await client.request({ method: "GET", path: "auth/token/lookup-self" })).status).toBe(200);
      if (backAt < expiresAt - 1_000 - 500) {
        // Back in time: the same token, renewed; no login.
        expect(h.count("auth/token/renew-self", 200)).toBeGreaterThanOrEqual(1);
        expect(await client.token()).toBe(token);
        expect(h.count("auth/jwt/login")).toBe(1);
      } else {
        // A machine so loaded that the restart outlived the token: recovery is a login.
        expect(h.count("auth/jwt/login", 200)).toBe(2);
      }
    }),
  );
});

describe("dispose", () => {
  it(
    "revokes the token with revoke-self when asked, and leaves it alone by default",
    withHarness({}, async (h, expect) => {
      const kept = h.client();
      const keptToken = await kept.token();
      await kept.dispose();
      const revoked = h.client();
      const revokedToken = await revoked.token();
      await revoked.dispose({ revoke: true });
      expect(h.count("auth/token/revoke-self", 204)).toBe(1);
      const lookup = (token: string) =>
        h.bao.request({ method: "POST", path: "auth/token/lookup", body: { token }, accept: [400, 403] });
      expect((await lookup(keptToken)).status).toBe(200);
      expect(await lookup(revokedToken)).toMatchObject({ status: 403, body: { errors: ["bad token"] } });
      await expect(revoked.token()).rejects.toMatchObject({ code: "ERR_DISPOSED" });
    }),
  );
});
