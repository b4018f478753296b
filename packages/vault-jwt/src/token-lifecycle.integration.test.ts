// The token lifecycle against real OpenBao, on real time: TTLs of a few seconds, every
// test its own server (so the describe blocks run concurrently), and every wait is for an
// event with a generous deadline, so a loaded CI machine cannot flake them.
import { decodeClaims } from "@confspace/attestation";
import { describe, it } from "vitest";
import { AUDIENCE, arrivals as at, eventually, scriptedSource, sleep, withHarness } from "../test/harness.js";
import { AttestationTokenExpiredError } from "./index.js";

const half = () => 0.5; // jitter at its midpoint: renewals exactly at 2/3 of the lease

describe.concurrent("renewal and re-login", () => {
  it(
    "renews with renew-self at two thirds of the lease, not before, keeping the token",
    withHarness({ role: { token_ttl: 4 } }, async (h, expect) => {
      const client = h.client({ random: half });
      const first = await client.token();
      await eventually(() => expect(h.count("auth/token/renew-self", 200)).toBe(1));
      const gap = at(h, "auth/token/renew-self")[0]! - at(h, "auth/jwt/login")[0]!;
      expect(gap).toBeGreaterThanOrEqual(2_600); // 2/3 of 4 s, less the time the login took
      expect(gap).toBeLessThan(3_900);
      expect(await client.token()).toBe(first);
      expect(client.tokenInfo()).toMatchObject({ next: "renew", renewals: 1, leaseSeconds: 4 });
      expect(h.count("auth/jwt/login")).toBe(1);
    }),
  );

  it(
    "logs in again with a fresh attestation token before token_explicit_max_ttl ends, without a gap",
    withHarness({ role: { token_ttl: 2, token_explicit_max_ttl: 4 } }, async (h, expect) => {
      const client = h.client({ random: half });
      await client.token();
      const deadline = Date.now() + 5_500;
      // Every 100 ms a request with the current token succeeds: never an expired token.
      while (Date.now() < deadline) {
        expect((await client.request({ method: "GET", path: "auth/token/lookup-self" })).status).toBe(200);
        await sleep(100);
      }
      const logins = at(h, "auth/jwt/login", 200);
      expect(logins.length).toBeGreaterThanOrEqual(2);
      // The second login came by the first token's hard end (login + 4 s): planned before it,
      // or — OpenBao 2.7.2 may still grant a full lease to a renewal 2.7 s in and refuse the
      // next one, at 4.0 s, with 500 "past the max TTL" — straight after that refusal.
      expect(logins[1]! - logins[0]!).toBeLessThan(4_500);
      expect(h.count("auth/token/renew-self", 200)).toBeGreaterThanOrEqual(1);
      // A token is used until its lease minus the skew (a tenth of these tiny leases): on a
      // loaded machine one request may arrive after the end, and is then retried after one login.
      expect(h.count("auth/token/lookup-self", 403)).toBeLessThanOrEqual(1);
    }),
  );

  it(
    "does not renew a batch token (not renewable): it logs in again before its whole-second expiry",
    withHarness({ role: { token_type: "batch", token_ttl: 2 } }, async (h, expect) => {
      const client = h.client({ random: half });
      await client.token();
      expect(client.tokenInfo()).toMatchObject({ renewable: false, next: "login", tokenType: "batch" });
      const deadline = Date.now() + 3_500;
      while (Date.now() < deadline) {
        expect((await client.request({ method: "GET", path: "auth/token/lookup-self" })).status).toBe(200);
        await sleep(100);
      }
      expect(h.count("auth/token/renew-self")).toBe(0);
      expect(h.count("auth/jwt/login", 200)).toBeGreaterThanOrEqual(2);
      expect(h.count("auth/token/lookup-self", 403)).toBeLessThanOrEqual(1); // see above: a slow request at the end
    }),
  );

  it(
    "sends a newly requested attestation token at each login",
    withHarness({ role: { token_ttl: 2, token_explicit_max_ttl: 2 } }, async (h, expect) => {
      const first = await h.emulator.mintToken({ audience: AUDIENCE });
      const second = await h.emulator.mintToken({ audience: AUDIENCE });
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
      await eventually(() => expect(h.count("auth/jwt/login", 200)).toBe(2));
      expect(await jtiOf()).toBe(decodeClaims(second).jti);
      expect(asked).toEqual([true, true]);
    }),
  );

  it(
    "logs in at once when a renewal is refused with a 500 (the proxy's exact fault)",
    withHarness({ role: { token_ttl: 3 } }, async (h, expect) => {
      const client = h.client({ random: half });
      const before = await client.token();
      h.proxy.failNext({
        status: 500,
        message: "past the max TTL, cannot renew",
        pathPrefix: "/v1/auth/token/renew-self",
      });
      await eventually(() => expect(h.count("auth/jwt/login", 200)).toBe(2));
      expect(h.count("auth/token/renew-self", 500)).toBe(1);
      const [renewal] = at(h, "auth/token/renew-self");
      // Straight after the refusal, not after a backoff.
      expect(at(h, "auth/jwt/login")[1]! - renewal!).toBeLessThan(900);
      expect(await client.token()).not.toBe(before);
    }),
  );
});

describe("attestation tokens", () => {
  it(
    "never sends an attestation token that is expired or about to expire",
    withHarness({}, async (h, expect) => {
      const stale = await h.emulator.mintToken({
        audience: AUDIENCE,
        issuedAt: Math.floor(Date.now() / 1000) - 3600,
        lifetimeSeconds: 3600,
      });
      const nearlyStale = await h.emulator.mintToken({ audience: AUDIENCE, lifetimeSeconds: 5 });
      for (const jwt of [stale, nearlyStale]) {
        const client = h.client({ tokenSource: scriptedSource([async () => jwt]) });
        await expect(client.token()).rejects.toBeInstanceOf(AttestationTokenExpiredError);
      }
      expect(h.count("auth/jwt/login")).toBe(0);
    }),
  );

  it(
    "shares one login among 50 concurrent first callers",
    withHarness({}, async (h, expect) => {
      const client = h.client();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.kv().read(`app/none-${i}`)));
      expect(results.every((r) => r === undefined)).toBe(true);
      expect(h.count("auth/jwt/login")).toBe(1);
    }),
  );
});
