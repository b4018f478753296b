import { randomUUID } from "node:crypto";
import { ConfspaceError } from "@confspace/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  goodClaims,
  newKey,
  signRs256,
  startTestIssuer,
  type TestIssuer,
  type TestKey,
} from "../../test/verify/test-issuer.js";
import { AttestationPolicyError, AttestationVerifierUnavailableError } from "./errors.js";
import { FetchJsonError } from "./internal/bounded-fetch.js";
import type { AttestationVerifierOptions } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const AUDIENCE = "https://relying-party.example";
const START = Date.UTC(2027, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let issuer: TestIssuer;
let now: number;

beforeEach(async () => {
  issuer = await startTestIssuer();
  now = START;
});
afterEach(() => issuer.close());

function verifierWith(options: Partial<AttestationVerifierOptions> = {}) {
  return createAttestationVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    clock: () => now,
    policy: { allowAnyWorkload: true },
    ...options,
  });
}

/** A good token signed by the issuer's current key, issued a minute before the fake clock's time. */
function token(kid = issuer.keys[0]!.kid): string {
  return tokenIssuedAt(Math.floor(now / 1000) - 60, kid);
}

/** A good token signed by the issuer's current key (or naming `kid`), with `iat` and `nbf` at `iat` seconds. */
function tokenIssuedAt(iat: number, kid = issuer.keys[0]!.kid): string {
  const key = issuer.keys.find((k) => k.kid === kid)?.privateKey ?? issuer.keys[0]!.privateKey;
  const claims = { ...goodClaims(issuer.issuer, AUDIENCE, iat + 60), iat, nbf: iat };
  return signRs256({ alg: "RS256", kid, typ: "JWT" }, claims, key);
}

function expectUnknownKey(error: unknown): void {
  expect(error).toBeInstanceOf(AttestationPolicyError);
  expect(error).toMatchObject({ check: "unknown_key", claim: "kid" });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("verification should have failed"),
    (error: unknown) => error,
  );
}

describe("JWKS fetching and caching", () => {
  it("discovers the JWKS once, then verifies from the cache", async () => {
    const verifier = verifierWith();
    await verifier.verify(token());
    await verifier.verify(token());
    expect(issuer.discoveryRequests()).toBe(1);
    expect(issuer.jwksRequests()).toBe(1);
  });

  it("uses options.jwksUri without fetching the discovery document", async () => {
    await verifierWith({ jwksUri: issuer.jwksUri }).verify(token());
    expect(issuer.discoveryRequests()).toBe(0);
    expect(issuer.jwksRequests()).toBe(1);
  });

  it("fetches the JWKS once per cooldown however many unknown kids arrive", async () => {
    const verifier = verifierWith({ jwksCooldownMs: 30_000 });
    await verifier.verify(token());
    expect(issuer.jwksRequests()).toBe(1);
    now += 30_000;
    const flood = Array.from({ length: 50 }, () => failure(verifier.verify(token(randomUUID()))));
    for (const error of await Promise.all(flood)) {
      expect(error).toBeInstanceOf(AttestationPolicyError);
      expect((error as AttestationPolicyError).check).toBe("unknown_key");
    }
    for (let i = 0; i < 20; i++) await failure(verifier.verify(token(randomUUID())));
    expect(issuer.jwksRequests()).toBe(2);
    now += 29_999;
    await failure(verifier.verify(token(randomUUID())));
    expect(issuer.jwksRequests()).toBe(2);
    now += 1;
    for (let i = 0; i < 20; i++) await failure(verifier.verify(token(randomUUID())));
    expect(issuer.jwksRequests()).toBe(3);
  });

  it("answers a key rotated in during the cooldown with a retryable error, then picks the key up", async () => {
    const verifier = verifierWith();
    await verifier.verify(token());
    now += 10_000;
    issuer.rotate();
    const rotated = tokenIssuedAt(Math.floor(now / 1000));
    const early = await failure(verifier.verify(rotated));
    expect(early).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(early).toMatchObject({ code: "ERR_VERIFIER_UNAVAILABLE", retryAfterMs: 20_000 });
    expect(issuer.jwksRequests()).toBe(1);
    now += 19_999;
    expect(await failure(verifier.verify(rotated))).toMatchObject({ retryAfterMs: 1 });
    now += 1;
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ aud: AUDIENCE });
    expect(issuer.jwksRequests()).toBe(2);
  });

  it("calls an unknown kid final when the key set was fetched after the token was issued", async () => {
    const verifier = verifierWith({ clockToleranceMs: 30_000 });
    await verifier.verify(token());
    const nowS = Math.floor(now / 1000);
    // Issued 30 s (the tolerance) before the fetch: its key was published by then.
    expectUnknownKey(await failure(verifier.verify(tokenIssuedAt(nowS - 30, randomUUID()))));
    // Issued 29 s before: the issuer's clock may be ahead, so the key may be newer than the set.
    const recent = await failure(verifier.verify(tokenIssuedAt(nowS - 29, randomUUID())));
    expect(recent).toBeInstanceOf(AttestationVerifierUnavailableError);
    // Issued in the future beyond the tolerance (refused anyway), without iat or with a string iat: final.
    expectUnknownKey(await failure(verifier.verify(tokenIssuedAt(nowS + 31, randomUUID()))));
    const sign = (claims: Record<string, unknown>) =>
      signRs256({ alg: "RS256", kid: randomUUID() }, { iss: issuer.issuer, ...claims }, issuer.keys[0]!.privateKey);
    expectUnknownKey(await failure(verifier.verify(sign({}))));
    expectUnknownKey(await failure(verifier.verify(sign({ iat: String(nowS) }))));
    expect(issuer.jwksRequests()).toBe(1);
  });

  it("after a refetch, calls a still unknown kid of a recent token retryable until the next fetch", async () => {
    const verifier = verifierWith();
    await verifier.verify(token());
    now += 30_000;
    const recent = tokenIssuedAt(Math.floor(now / 1000) - 5, randomUUID());
    expect(await failure(verifier.verify(recent))).toMatchObject({ retryAfterMs: 30_000 });
    expect(issuer.jwksRequests()).toBe(2);
    now += 30_000;
    expectUnknownKey(await failure(verifier.verify(recent)));
    expect(issuer.jwksRequests()).toBe(3);
  });

  it("refreshes the key set once it is older than jwksCacheMaxAgeMs", async () => {
    const verifier = verifierWith({ jwksCacheMaxAgeMs: 10 * MINUTE });
    await verifier.verify(token());
    now += 10 * MINUTE - 1;
    await verifier.verify(token());
    expect(issuer.jwksRequests()).toBe(1);
    now += 1;
    await verifier.verify(token());
    expect(issuer.jwksRequests()).toBe(2);
  });
});

describe("JWKS endpoint down", () => {
  it("keeps using the last good keys within maxStaleMs", async () => {
    const verifier = verifierWith({ jwksCacheMaxAgeMs: 10 * MINUTE, maxStaleMs: 24 * HOUR });
    await verifier.verify(token());
    issuer.jwksMode = "down";
    now += 10 * MINUTE + 24 * HOUR;
    await expect(verifier.verify(token())).resolves.toMatchObject({ aud: AUDIENCE });
    expect(issuer.jwksRequests()).toBe(2);
  });

  it("refuses with AttestationVerifierUnavailableError after maxStaleMs, then recovers", async () => {
    const verifier = verifierWith({ jwksCacheMaxAgeMs: 10 * MINUTE, maxStaleMs: 24 * HOUR });
    await verifier.verify(token());
    issuer.jwksMode = "down";
    now += 10 * MINUTE + 24 * HOUR + 1;
    const error = await failure(verifier.verify(token()));
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(error).toMatchObject({ code: "ERR_VERIFIER_UNAVAILABLE", retryAfterMs: 30_000 });
    expect((error as Error).cause).toBeInstanceOf(FetchJsonError);
    now += 10_000;
    expect(await failure(verifier.verify(token()))).toMatchObject({ retryAfterMs: 20_000 });
    expect(issuer.jwksRequests()).toBe(2);
    issuer.jwksMode = "ok";
    now += 20_000;
    await expect(verifier.verify(token())).resolves.toMatchObject({ aud: AUDIENCE });
  });

  it("refuses stale keys at once with maxStaleMs: 0", async () => {
    const verifier = verifierWith({ jwksCacheMaxAgeMs: 10 * MINUTE, maxStaleMs: 0 });
    await verifier.verify(token());
    issuer.jwksMode = "down";
    now += 10 * MINUTE + 1;
    expect(await failure(verifier.verify(token()))).toBeInstanceOf(AttestationVerifierUnavailableError);
  });

  it("is unavailable, not a policy failure, when it has never fetched keys", async () => {
    issuer.jwksMode = "down";
    const verifier = verifierWith();
    expect(await failure(verifier.verify(token()))).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(await failure(verifier.verify(token()))).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(issuer.jwksRequests()).toBe(1);
  });

  it("is unavailable for an unknown kid when the refresh failed", async () => {
    const verifier = verifierWith();
    await verifier.verify(token());
    issuer.jwksMode = "down";
    now += 30_000;
    expect(await failure(verifier.verify(token(randomUUID())))).toBeInstanceOf(AttestationVerifierUnavailableError);
    await expect(verifier.verify(token())).resolves.toBeDefined();
  });
});

describe("JWKS responses refused", () => {
  const cases = [
    { mode: "huge", reason: /more than 65536 bytes/ },
    { mode: "endless", reason: /more than 65536 bytes/ },
    { mode: "html", reason: /non-JSON media type/ },
    { mode: "redirect", reason: /request to .* failed/ },
  ] as const;
  it.each(cases)("$mode JWKS response is refused", async ({ mode, reason }) => {
    issuer.jwksMode = mode;
    const error = await failure(verifierWith({ jwksUri: issuer.jwksUri }).verify(token()));
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(((error as Error).cause as Error).message).toMatch(reason);
  });

  it("does not follow a redirect", async () => {
    issuer.jwksMode = "redirect";
    await failure(verifierWith({ jwksUri: issuer.jwksUri }).verify(token()));
    expect(issuer.requests).toEqual(["/jwks"]);
  });

  it("refuses a redirected answer even from a fetch that follows redirects", async () => {
    issuer.jwksMode = "redirect";
    const verifier = verifierWith({
      jwksUri: issuer.jwksUri,
      fetch: (input, init) => fetch(input, { ...init, redirect: "follow" }),
    });
    const error = await failure(verifier.verify(token()));
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(((error as Error).cause as Error).message).toMatch(/HTTP 200 after a redirect/);
    expect(issuer.requests).toEqual(["/jwks", "/jwks-moved"]);
  });

  it("refuses a discovery document naming another issuer", async () => {
    issuer.discoveryIssuer = `${issuer.issuer}/`;
    const error = await failure(verifierWith().verify(token()));
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(((error as Error).cause as Error).message).toMatch(/another issuer/);
    expect(issuer.jwksRequests()).toBe(0);
  });

  it("refuses a discovery document whose jwks_uri is plain http off loopback", async () => {
    const verifier = verifierWith({
      fetch: async () => Response.json({ issuer: issuer.issuer, jwks_uri: "http://keys.example/jwks" }),
    });
    const error = await failure(verifier.verify(token()));
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect(error).toBeInstanceOf(ConfspaceError);
    expect(((error as Error).cause as Error).message).toMatch(/jwks_uri must be https/);
  });

  it("refuses a JWKS holding private key material", async () => {
    const verifier = verifierWith({
      jwksUri: issuer.jwksUri,
      fetch: async () => Response.json({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "x" }] }),
    });
    const error = await failure(verifier.verify(token()));
    expect(((error as Error).cause as Error).message).toMatch(/private or symmetric/);
  });

  it("passes redirect: error and a timeout signal to fetch", async () => {
    let init: RequestInit | undefined;
    const verifier = verifierWith({
      jwksUri: issuer.jwksUri,
      fetch: async (input, requestInit) => {
        init = requestInit;
        return fetch(input, requestInit);
      },
    });
    await verifier.verify(token());
    expect(init?.redirect).toBe("error");
    expect(init?.signal).toBeInstanceOf(AbortSignal);
  });

  it("gives up on a JWKS endpoint slower than httpTimeoutMs", async () => {
    const verifier = verifierWith({
      jwksUri: issuer.jwksUri,
      httpTimeoutMs: 50,
      fetch: (_input, init) =>
        new Promise((_resolve, rejectFetch) =>
          init?.signal?.addEventListener("abort", () => rejectFetch(init.signal?.reason)),
        ),
    });
    expect(await failure(verifier.verify(token()))).toBeInstanceOf(AttestationVerifierUnavailableError);
  });
});

describe("a kid the JWKS lists with no usable key", () => {
  /** A verifier whose JWKS is `entries`, each built from the issuer's real key under the token's kid. */
  function verifierWithKeys(...entries: Record<string, unknown>[]) {
    const { kid, publicKey } = issuer.keys[0]!;
    const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
    return verifierWith({
      jwksUri: issuer.jwksUri,
      fetch: async () => Response.json({ keys: entries.map((entry) => ({ ...jwk, ...entry })) }),
    });
  }

  it.each([
    ["another key type", { kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" }],
    ["another algorithm", { alg: "RS384" }],
    ["an encryption key", { use: "enc" }],
    ["a key not for verifying", { key_ops: ["encrypt"] }],
  ])("is an unknown key when the entry is %s", async (_name, entry) => {
    const error = await failure(verifierWithKeys(entry).verify(token()));
    expectUnknownKey(error);
    expect((error as Error).message).toMatch(/no key of the issuer's JWKS with the token's kid is usable for RS256/);
  });

  it("is an unknown key when two RS256 entries share the kid", async () => {
    const error = await failure(verifierWithKeys({}, { use: undefined }).verify(token()));
    expectUnknownKey(error);
    expect((error as Error).message).toMatch(/several RS256 keys/);
  });

  it("is a signature failure when the entry does not import", async () => {
    const error = await failure(verifierWithKeys({ e: undefined }).verify(token()));
    expect(error).toBeInstanceOf(AttestationPolicyError);
    expect(error).toMatchObject({ check: "signature", claim: "kid" });
    expect((error as Error).message).toMatch(/could not be imported/);
  });

  it("still verifies with the one usable entry beside unusable ones", async () => {
    const verifier = verifierWithKeys({ alg: "RS384" }, {}, { use: "enc" });
    await expect(verifier.verify(token())).resolves.toMatchObject({ iss: issuer.issuer });
  });
});

describe("key sets in detail", () => {
  const unavailable = async (promise: Promise<unknown>, message: string) => {
    const error = await failure(promise);
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    expect((error as Error).message).toBe(`${message}; retry later`);
    return error as AttestationVerifierUnavailableError;
  };

  it("verifies each kid of the set with its own key", async () => {
    issuer.rotate({ keepPrevious: true });
    const [newer, older] = issuer.keys as [TestKey, TestKey];
    const verifier = verifierWith();
    await expect(verifier.verify(token(older.kid))).resolves.toBeDefined();
    await expect(verifier.verify(token(newer.kid))).resolves.toBeDefined();
    // A token naming one kid but signed by the other key does not borrow the other's cached key.
    const iat = Math.floor(now / 1000) - 60;
    const crossed = signRs256(
      { alg: "RS256", kid: newer.kid },
      { ...goodClaims(issuer.issuer, AUDIENCE, iat + 60), iat, nbf: iat },
      older.privateKey,
    );
    expect(await failure(verifier.verify(crossed))).toMatchObject({ check: "signature" });
    expect(issuer.jwksRequests()).toBe(1);
  });

  it("shares one fetch among concurrent first verifications", async () => {
    const verifier = verifierWith();
    await Promise.all(Array.from({ length: 5 }, () => expect(verifier.verify(token())).resolves.toBeDefined()));
    expect(issuer.jwksRequests()).toBe(1);
  });

  it("says why an unknown kid is refused or retryable", async () => {
    const verifier = verifierWith();
    await verifier.verify(token());
    const nowS = Math.floor(now / 1000);
    const final = await failure(verifier.verify(tokenIssuedAt(nowS - 60, randomUUID())));
    expect(final).toMatchObject({ check: "unknown_key", message: "no key of the issuer's JWKS has the token's kid" });
    await unavailable(
      verifier.verify(tokenIssuedAt(nowS, randomUUID())),
      "the token's key is not in a JWKS fetched before the token was issued (a key rotation?)",
    );
    issuer.jwksMode = "down";
    now += 30_000;
    await unavailable(
      verifier.verify(token(randomUUID())),
      "the token's key is unknown and the JWKS could not be refreshed",
    );
  });

  it("calls a kid retryable up to an iat of exactly now plus the tolerance", async () => {
    const verifier = verifierWith({ clockToleranceMs: 30_000 });
    await verifier.verify(token());
    now += 5_000;
    const nowS = Math.floor(now / 1000);
    await unavailable(
      verifier.verify(tokenIssuedAt(nowS + 30, randomUUID())),
      "the token's key is not in a JWKS fetched before the token was issued (a key rotation?)",
    );
    expectUnknownKey(await failure(verifier.verify(tokenIssuedAt(nowS + 31, randomUUID()))));
  });

  it("names the stale-keys refusal and the never-fetched one", async () => {
    const verifier = verifierWith({ jwksCacheMaxAgeMs: MINUTE, maxStaleMs: MINUTE });
    await verifier.verify(token());
    issuer.jwksMode = "down";
    now += 2 * MINUTE + 1;
    await unavailable(
      verifier.verify(token()),
      "the issuer's JWKS could not be refreshed and the cached keys are too old to use",
    );
    await unavailable(verifierWith().verify(token()), "the issuer's signing keys could not be fetched");
    await unavailable(verifierWith().ready(), "the issuer's signing keys could not be fetched");
  });

  it("ready() fetches only when the key set is missing or at least jwksCacheMaxAgeMs old", async () => {
    const verifier = verifierWith({ jwksCacheMaxAgeMs: 10 * MINUTE });
    await verifier.ready();
    now += MINUTE;
    await verifier.ready();
    expect(issuer.jwksRequests()).toBe(1);
    now += 9 * MINUTE - 1;
    await verifier.ready();
    expect(issuer.jwksRequests()).toBe(1);
    now += 1;
    await verifier.ready();
    expect(issuer.jwksRequests()).toBe(2);
  });

  it("discovers the JWKS of an issuer written with a trailing slash", async () => {
    issuer.discoveryIssuer = `${issuer.issuer}/`;
    await expect(verifierWith({ issuer: `${issuer.issuer}/` }).verify(token())).rejects.toMatchObject({
      check: "issuer",
    });
    expect(issuer.requests).toEqual(["/.well-known/openid-configuration", "/jwks"]);
  });
});

describe("JWKS documents refused", () => {
  const { kid, publicKey } = newKey();
  const entry = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256" };
  const withJwks = (jwks: unknown) =>
    verifierWith({ jwksUri: issuer.jwksUri, fetch: async () => Response.json(jwks) }).verify(token(kid));
  const cause = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    expect(error).toBeInstanceOf(AttestationVerifierUnavailableError);
    return ((error as Error).cause as Error).message;
  };

  it.each([
    ["no keys member", {}],
    ["keys as an object", { keys: { 0: entry } }],
    ["no keys", { keys: [] }],
    ["101 keys", { keys: Array.from({ length: 101 }, (_, i) => ({ ...entry, kid: `k${i}` })) }],
  ])("refuses a JWKS with %s", async (_name, jwks) => {
    expect(await cause(withJwks(jwks))).toBe("the JWKS must hold between 1 and 100 keys");
  });

  it("accepts 100 keys", async () => {
    const keys = [...Array.from({ length: 99 }, (_, i) => ({ ...entry, kid: `k${i}` })), entry];
    // The token is signed by the issuer's own key, not by `entry`: found, then refused on its signature.
    expect(await failure(withJwks({ keys }))).toMatchObject({ check: "signature" });
  });

  it.each([
    ["null", null],
    ["an array", [entry]],
    ["a string", "key"],
  ])("refuses an entry that is %s", async (_name, bad) => {
    expect(await cause(withJwks({ keys: [entry, bad] }))).toBe("a JWKS entry is not an object");
  });

  it("refuses an RSA private key", async () => {
    const { privateKey } = newKey();
    const leaked = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256" };
    expect(await cause(withJwks({ keys: [leaked] }))).toBe("the JWKS holds private or symmetric key material");
  });
});
