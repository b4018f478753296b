import { decodeClaims } from "@confspace/attestation";
import { TokenUnavailableError } from "@confspace/core";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, type Harness, scriptedSource, startHarness } from "../test/harness.js";
import { AttestationTokenExpiredError, VaultError, VaultUnavailableError } from "./index.js";

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const half = () => 0.5; // jitter at its midpoint: renewals exactly at 2/3 of the lease

describe("renewal timing", () => {
  it("renews with renew-self at two thirds of the lease, not before", async () => {
    h = await startHarness();
    const client = h.client({ random: half });
    const first = await client.token();
    expect(h.count("auth/jwt/login", 200)).toBe(1);
    await h.clock.advance(19_000);
    expect(h.count("auth/token/renew-self")).toBe(0);
    await h.clock.advance(2_000);
    await eventually(() => expect(h.count("auth/token/renew-self", 200)).toBe(1));
    expect(await client.token()).toBe(first); // renewal keeps the same token
    expect(client.tokenInfo()).toMatchObject({ next: "renew", renewals: 1, leaseSeconds: 30 });
    await h.clock.advance(20_000);
    await eventually(() => expect(h.count("auth/token/renew-self", 200)).toBe(2));
    expect(h.count("auth/jwt/login")).toBe(1);
  });

  it("spreads renewals between 60 % and 73 % of the lease with jitter", async () => {
    h = await startHarness();
    const early = h.client({ random: () => 0 });
    await early.token();
    const at = early.tokenInfo()!;
    expect(at.refreshAt - at.loggedInAt).toBeCloseTo(18_000, -2);
    const late = h.client({ random: () => 0.999 });
    await late.token();
    const later = late.tokenInfo()!;
    expect(later.refreshAt - later.loggedInAt).toBeGreaterThan(21_900);
    expect(later.refreshAt - later.loggedInAt).toBeLessThan(22_000);
  });
});

describe("single flight", () => {
  it("shares one login among 50 concurrent first callers, and one renewal among callers during it", async () => {
    h = await startHarness();
    const client = h.client({ random: half });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.kv().read(`app/none-${i}`)));
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(h.count("auth/jwt/login")).toBe(1);
    await h.clock.advance(20_100);
    await Promise.all(Array.from({ length: 20 }, () => client.token()));
    await eventually(() => expect(h.count("auth/token/renew-self")).toBe(1));
  });
});

describe("re-login before expiry", () => {
  it("logs in again with a fresh attestation token before the max TTL ends, without a gap", async () => {
    h = await startHarness({ role: { token_ttl: 30, token_explicit_max_ttl: 50 } });
    const client = h.client({ random: half });
    await client.token();
    const firstToken = h.vault.tokens[0]!;
    expect(firstToken.expireTime - firstToken.issueTime).toBe(30_000);
    let maxLoginGap = 0;
    for (let second = 1; second <= 120; second++) {
      await h.clock.advance(1_000);
      const logins = h.vault.requests.filter((r) => r.path === "auth/jwt/login");
      maxLoginGap = Math.max(maxLoginGap, ...logins.slice(1).map((l, i) => l.at - logins[i]!.at));
      // Every second a request with the current token succeeds: never an expired token.
      const lookup = await client.request({ method: "GET", path: "auth/token/lookup-self" });
      expect(lookup.status).toBe(200);
    }
    const logins = h.vault.requests.filter((r) => r.path === "auth/jwt/login");
    expect(logins.length).toBeGreaterThanOrEqual(3);
    // The second login came before the first token's hard end (issue + 50 s).
    expect(logins[1]!.at).toBeLessThan(firstToken.issueTime + 50_000);
    expect(logins[1]!.at).toBeGreaterThan(firstToken.issueTime + 40_000);
    expect(maxLoginGap).toBeLessThanOrEqual(50_000);
    expect(h.vault.requests.filter((r) => r.status === 403)).toEqual([]);
    expect(h.count("auth/token/renew-self", 200)).toBeGreaterThanOrEqual(4);
  });

  it("does not renew a token that is not renewable (batch): it logs in again before expiry", async () => {
    h = await startHarness({ role: { token_type: "batch", token_ttl: 30 } });
    const client = h.client({ random: half });
    await client.token();
    expect(client.tokenInfo()).toMatchObject({ renewable: false, next: "login" });
    for (let second = 1; second <= 70; second++) {
      await h.clock.advance(1_000);
      expect((await client.request({ method: "GET", path: "auth/token/lookup-self" })).status).toBe(200);
    }
    expect(h.count("auth/token/renew-self")).toBe(0);
    expect(h.count("auth/jwt/login", 200)).toBeGreaterThanOrEqual(3);
    expect(h.vault.requests.filter((r) => r.status === 403)).toEqual([]);
  });

  it("uses the rotated attestation token on the next login, always asking for a fresh one", async () => {
    h = await startHarness({ role: { token_ttl: 30, token_explicit_max_ttl: 40 } });
    const first = await h.emulator.mintToken({ audience: "https://vault.confspace.test" });
    const second = await h.emulator.mintToken({ audience: "https://vault.confspace.test" });
    const asked: unknown[] = [];
    const scripted = scriptedSource([async () => first, async () => second]);
    const client = h.client({
      random: half,
      tokenSource: {
        getToken: (options) => {
          asked.push(options?.forceRefresh);
          return scripted.getToken();
        },
      },
    });
    const jtiOf = async () => {
      const { body } = await client.request({ method: "GET", path: "auth/token/lookup-self" });
      return (body?.data as { meta: { jti: string } } | undefined)?.meta.jti;
    };
    expect(await jtiOf()).toBe(decodeClaims(first).jti);
    await h.clock.advance(40_000);
    await eventually(() => expect(h.count("auth/jwt/login", 200)).toBe(2));
    expect(await jtiOf()).toBe(decodeClaims(second).jti);
    expect(asked).toEqual([true, true]);
  });

  it("never sends an attestation token that is expired or about to expire", async () => {
    h = await startHarness();
    const stale = await h.emulator.mintToken({
      audience: "https://vault.confspace.test",
      issuedAt: Math.floor(h.clock.now() / 1000) - 3600,
      lifetimeSeconds: 3600,
    });
    const nearlyStale = await h.emulator.mintToken({ audience: "https://vault.confspace.test", lifetimeSeconds: 5 });
    for (const jwt of [stale, nearlyStale]) {
      const client = h.client({ tokenSource: scriptedSource([async () => jwt]) });
      await expect(client.token()).rejects.toBeInstanceOf(AttestationTokenExpiredError);
    }
    expect(h.count("auth/jwt/login")).toBe(0);
  });
  it("logs in at once when Vault refuses a renewal (500 past the max TTL), without serving a gap", async () => {
    h = await startHarness();
    const client = h.client({ random: half });
    const before = await client.token();
    h.vault.failNext({ status: 500, errors: ["past the max TTL, cannot renew"], pathPrefix: "auth/token/renew-self" });
    await h.clock.advance(21_000);
    await eventually(() => expect(h.count("auth/jwt/login", 200)).toBe(2));
    expect(h.count("auth/token/renew-self", 500)).toBe(1);
    expect(await client.token()).not.toBe(before);
  });
});

describe("403 on use", () => {
  it("logs in again once after a 403 and retries the request once — never in a loop", async () => {
    h = await startHarness();
    const client = h.client({ random: half });
    await client.kv().write("app/config", { a: "1" });
    await h.clock.advance(11_000);
    h.vault.revokeAllTokens();
    expect((await client.kv().read("app/config"))?.data).toEqual({ a: "1" });
    expect(h.count("auth/jwt/login", 200)).toBe(2);

    // A path the policy does not grant: the fresh token is refused, no login helps.
    await expect(client.kv().read("other/secret")).rejects.toMatchObject({
      status: 403,
      errors: ["permission denied"],
    });
    expect(h.count("auth/jwt/login")).toBe(2);
    // Past the cooldown: exactly one more login, then the 403 is thrown.
    await h.clock.advance(11_000);
    const error = await client
      .kv()
      .read("other/secret")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(h.count("auth/jwt/login")).toBe(3);
    expect(h.count("secret/data/other/secret", 403)).toBe(3);
  });

  it("withToken retries a node-vault-style 403 with the new token", async () => {
    h = await startHarness();
    const client = h.client();
    const seen: string[] = [];
    await client.token();
    await h.clock.advance(11_000);
    const result = await client.withToken(async (token) => {
      seen.push(token);
      if (seen.length === 1) throw Object.assign(new Error("permission denied"), { response: { statusCode: 403 } });
      return "ok";
    });
    expect(result).toBe("ok");
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
  });
});

describe("Vault outage", () => {
  it("keeps the current token while Vault is down, retries with growing backoff, and recovers without giving up", async () => {
    h = await startHarness();
    const client = h.client({ random: half });
    const token = await client.token();
    await h.vault.setAvailable(false);
    await h.clock.advance(26_500, 100);
    // Still served: the lease (30 s) has not ended.
    expect(await client.token()).toBe(token);
    const renewals = h.vault.requests.filter((r) => r.path === "auth/token/renew-self");
    expect(renewals.length).toBeGreaterThanOrEqual(3);
    expect(renewals.every((r) => r.status === 503)).toBe(true);
    const gaps = renewals.slice(1).map((r, i) => r.at - renewals[i]!.at);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);

    // Past expiry: an error, never the expired token.
    await h.clock.advance(4_000);
    const failure = await client.token().catch((e: unknown) => e);
    expect(failure instanceof VaultUnavailableError || failure instanceof TokenUnavailableError).toBe(true);
    // A long outage: callers keep getting errors, attempts keep coming, backoff capped at 60 s.
    for (let minute = 0; minute < 5; minute++) {
      await h.clock.advance(61_000, 1_000);
      await expect(client.token()).rejects.toBeDefined();
    }
    const loginAttempts = h.count("auth/jwt/login", 503);
    expect(loginAttempts).toBeGreaterThanOrEqual(5);
    await h.vault.setAvailable(true);
    await h.clock.advance(61_000, 1_000);
    const fresh = await client.token();
    expect(fresh).not.toBe(token);
    expect(h.count("auth/jwt/login", 200)).toBe(2);
  });

  it("rides out connection refused the same way", async () => {
    h = await startHarness();
    const client = h.client({ random: half });
    const token = await client.token();
    await h.vault.setAvailable(false, { mode: "refuse" });
    await h.clock.advance(25_000, 100);
    expect(await client.token()).toBe(token);
    await h.vault.setAvailable(true);
    await h.clock.advance(1_500, 100);
    await eventually(() => expect(h.count("auth/token/renew-self", 200)).toBe(1));
    expect(await client.token()).toBe(token);
  });
});

describe("dispose", () => {
  it("revokes the token with revoke-self when asked", async () => {
    h = await startHarness();
    const client = h.client();
    await client.token();
    await client.dispose({ revoke: true });
    expect(h.count("auth/token/revoke-self", 204)).toBe(1);
    expect(h.vault.tokens[0]!.revoked).toBe(true);
    await expect(client.token()).rejects.toMatchObject({ code: "ERR_DISPOSED" });
  });

  it("leaves the token alone by default", async () => {
    h = await startHarness();
    const client = h.client();
    await client.token();
    await client.dispose();
    expect(h.count("auth/token/revoke-self")).toBe(0);
    expect(h.vault.tokens[0]!.revoked).toBe(false);
  });
});
