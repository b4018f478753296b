import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVaultTestIssuer, type VaultTestIssuer } from "../../test/vault-issuer.js";
import { type LocalVault, startLocalVault } from "./vault.js";

const AUD = "https://vault.test";
let emulator: VaultTestIssuer;
let vault: LocalVault;
let now = Date.now();

beforeAll(async () => {
  emulator = await startVaultTestIssuer();
  vault = await startLocalVault({ clock: () => now });
  await vault.configureJwt({ oidc_discovery_url: emulator.url, bound_issuer: emulator.url });
  vault.writeRole("r", {
    role_type: "jwt",
    user_claim: "sub",
    bound_audiences: AUD,
    token_ttl: "30s",
    token_max_ttl: "1m",
  });
});
afterAll(async () => {
  await vault?.stop();
  await emulator?.stop();
});

async function call(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${vault.address}/v1/${path}`, {
    method,
    headers: token === undefined ? {} : { "x-vault-token": token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the tests read deep fields of Vault's JSON answers
  return { status: res.status, body: text === "" ? undefined : (JSON.parse(text) as Record<string, any>) };
}

const login = async (jwt: string, role = "r") => call("POST", "auth/jwt/login", { role, jwt });
const mint = async (options: Omit<Parameters<VaultTestIssuer["mint"]>[0], "nowMs" | "audience"> = {}) =>
  emulator.mint({ nowMs: now, audience: AUD, ...options });

describe("JWT login validation (Vault's order and texts)", () => {
  const seconds = () => Math.floor(now / 1000);
  const cases: Array<{ name: string; jwt: () => Promise<string>; role?: string; status: number; error?: string }> = [
    { name: "a good token", jwt: () => mint(), status: 200 },
    { name: "no role", jwt: () => mint(), role: "", status: 400, error: "missing role" },
    { name: "an unknown role", jwt: () => mint(), role: "nope", status: 400, error: 'role "nope" could not be found' },
    { name: "an empty jwt", jwt: async () => "", status: 400, error: "missing token" },
    {
      name: "an HS256 token",
      jwt: () => mint({ mutateHeader: (h) => void Object.assign(h, { alg: "HS256" }) }),
      status: 400,
      error:
        'error validating token: error verifying token signature: oidc: malformed jwt: go-jose/go-jose: unexpected signature algorithm "HS256"; expected ["RS256" "RS384" "RS512" "ES256" "ES384" "ES512" "PS256" "PS384" "PS512" "EdDSA"]',
    },
    {
      name: "a changed payload",
      jwt: async () => {
        const [h, , s] = (await mint()).split(".");
        return `${h}.${Buffer.from(JSON.stringify({ sub: "x", aud: AUD, exp: seconds() + 60 })).toString("base64url")}.${s}`;
      },
      status: 400,
      error: "error validating token: error verifying token signature: failed to verify id token signature",
    },
    {
      name: "expired beyond the 60 s skew",
      jwt: () => mint({ issuedAt: seconds() - 200, lifetimeSeconds: 100 }),
      status: 400,
      error: "error validating token: invalid expiration time (exp) claim: token is expired",
    },
    {
      name: "expired within the 60 s skew",
      jwt: () => mint({ issuedAt: seconds() - 150, lifetimeSeconds: 100 }),
      status: 200,
    },
    {
      name: "not valid for another 2 minutes",
      jwt: () => mint({ mutateClaims: (c) => void Object.assign(c, { nbf: seconds() + 120 }) }),
      status: 400,
      error: "error validating token: invalid not before (nbf) claim: token not yet valid",
    },
    {
      name: "issued in the future",
      jwt: () => mint({ mutateClaims: (c) => void Object.assign(c, { iat: seconds() + 120, nbf: seconds() }) }),
      status: 400,
      error: "error validating token: invalid issued at (iat) claim: token issued in the future",
    },
    {
      name: "no time claims at all",
      jwt: () =>
        mint({ mutateClaims: (c) => void Object.assign(c, { iat: undefined, nbf: undefined, exp: undefined }) }),
      status: 400,
      error: "error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token",
    },
    {
      name: "only iat, 100 s old (exp synthesised as iat + 150 s)",
      jwt: () =>
        mint({ mutateClaims: (c) => void Object.assign(c, { iat: seconds() - 100, nbf: undefined, exp: undefined }) }),
      status: 200,
    },
    {
      name: "a claim colliding with sub under case folding",
      jwt: () => mint({ mutateClaims: (c) => void Object.assign(c, { SUB: "other" }) }),
      status: 400,
      error:
        'error validating token: ambiguous claim: key "SUB" collides with registered claim "sub" under case folding',
    },
    {
      name: "no sub (the user claim)",
      jwt: () => mint({ mutateClaims: (c) => void Object.assign(c, { sub: undefined }) }),
      status: 400,
      error: 'claim "sub" not found in token',
    },
  ];
  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}`, async () => {
      const result = await login(await c.jwt(), c.role ?? "r");
      expect(result.status).toBe(c.status);
      if (c.error !== undefined) expect(result.body).toEqual({ errors: [c.error] });
      else expect(result.body?.auth?.client_token).toMatch(/^hvs\./);
    });
  }

  it("refuses any token carrying aud when the role binds no audience", async () => {
    vault.writeRole("noaud", {
      role_type: "jwt",
      user_claim: "sub",
      bound_subject: emulator.claims(now, AUD).sub as string,
    });
    expect((await login(await mint(), "noaud")).body).toEqual({
      errors: ["audience claim found in JWT but no audiences bound to the role"],
    });
  });

  it("compares bound claims by JSON type: a number never equals a string, globs only match strings", async () => {
    vault.writeRole("typed", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: AUD,
      bound_claims: { oemid: 11129 },
    });
    expect((await login(await mint(), "typed")).status).toBe(200);
    vault.writeRole("typed", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: AUD,
      bound_claims: { oemid: "11129" },
    });
    expect((await login(await mint(), "typed")).status).toBe(400);
    vault.writeRole("glob", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: AUD,
      bound_claims_type: "glob",
      bound_claims: { "/submods/container/image_reference": "*confspace*", swname: "CONFIDENTIAL_*" },
    });
    expect((await login(await mint(), "glob")).status).toBe(200);
  });
});

describe("auth config", () => {
  it("accepts jwks_url, and refuses a discovery URL whose document names another issuer (a trailing slash)", async () => {
    const other = await startLocalVault({ clock: () => now });
    try {
      await other.configureJwt({ jwks_url: `${emulator.url}/jwks`, bound_issuer: emulator.url });
      other.writeRole("r", { role_type: "jwt", user_claim: "sub", bound_audiences: AUD });
      const ok = await fetch(`${other.address}/v1/auth/jwt/login`, {
        method: "POST",
        body: JSON.stringify({ role: "r", jwt: await mint() }),
      });
      expect(ok.status).toBe(200);
      await expect(other.configureJwt({ oidc_discovery_url: `${emulator.url}/` })).rejects.toMatchObject({
        errors: ["error checking oidc discovery URL"],
      });
      await expect(other.configureJwt({ jwks_url: `${emulator.url}/nothing` })).rejects.toMatchObject({
        errors: [`error checking jwks URL ${emulator.url}/nothing`],
      });
      await expect(other.configureJwt({ bound_issuer: emulator.url })).rejects.toMatchObject({
        errors: [
          "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' must be set",
        ],
      });
    } finally {
      await other.stop();
    }
  });

  it("answers a login before any config with could not load configuration", async () => {
    const other = await startLocalVault();
    try {
      const res = await fetch(`${other.address}/v1/auth/jwt/login`, {
        method: "POST",
        body: JSON.stringify({ role: "r", jwt: "x" }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ errors: ["could not load configuration"] });
    } finally {
      await other.stop();
    }
  });
});

describe("role writes", () => {
  const base = { role_type: "jwt", user_claim: "sub", bound_audiences: AUD };
  it.each([
    [{ ...base, role_type: undefined }, "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."],
    [{ ...base, user_claim: undefined }, "a user claim must be defined on the role"],
    [{ role_type: "jwt", user_claim: "sub" }, "must have at least one bound constraint when creating/updating a role"],
    [{ ...base, token_ttl: 60, token_max_ttl: 30 }, "'token_ttl' cannot be greater than 'token_max_ttl'"],
    [{ ...base, bound_claims_type: "regex" }, "invalid 'bound_claims_type': regex"],
    [{ ...base, bound_claims_type: "glob", bound_claims: { oemid: 1 } }, "claim is not a string: 1"],
    [
      { ...base, claim_mappings: { sub: "role" } },
      'metadata key "role" is reserved and may not be a mapping destination',
    ],
    [{ ...base, role_type: "saml" }, "invalid 'role_type': saml"],
  ])("refuses %j", async (role, error) => {
    const result = await call("POST", "auth/jwt/role/bad", role, vault.rootToken);
    expect(result).toEqual({ status: 400, body: { errors: [error] } });
  });

  it("answers 204 without warnings and 200 with Vault's warning for unknown parameters", async () => {
    expect((await call("POST", "auth/jwt/role/ok", base, vault.rootToken)).status).toBe(204);
    const warned = await call(
      "POST",
      "auth/jwt/role/ok",
      { ...base, claims_mappings: {}, polices: ["x"] },
      vault.rootToken,
    );
    expect(warned.status).toBe(200);
    expect(warned.body?.warnings).toEqual([
      "Endpoint ignored these unrecognized parameters: [claims_mappings polices]",
    ]);
    expect((await call("GET", "auth/jwt/role/ok", undefined, vault.rootToken)).body?.data.bound_audiences).toEqual([
      AUD,
    ]);
  });
});

describe("token TTL arithmetic", () => {
  it("renews up to the max TTL, then caps the lease and warns, then refuses past it", async () => {
    const token = (await login(await mint())).body!.auth.client_token as string;
    now += 20_000;
    expect((await call("POST", "auth/token/renew-self", {}, token)).body?.auth.lease_duration).toBe(30);
    now += 20_000;
    const capped = await call("POST", "auth/token/renew-self", {}, token);
    expect(capped.body?.auth.lease_duration).toBe(20);
    expect(capped.body?.warnings).toEqual([
      'TTL of "30s" exceeded the effective max_ttl of "20s"; TTL value is capped accordingly',
    ]);
    const lookup = await call("GET", "auth/token/lookup-self", undefined, token);
    expect(lookup.body?.data).toMatchObject({
      ttl: 20,
      creation_ttl: 30,
      renewable: true,
      path: "auth/jwt/login",
      policies: ["default"],
    });
    now += 21_000;
    expect(await call("POST", "auth/token/renew-self", {}, token)).toEqual({
      status: 403,
      body: { errors: ["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"] },
    });
  });

  it("gives periodic tokens the period on every renewal, capped by an explicit max TTL", async () => {
    vault.writeRole("periodic", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: AUD,
      token_period: 20,
      token_explicit_max_ttl: 50,
    });
    const token = (await login(await mint(), "periodic")).body!.auth.client_token as string;
    const renew = async () => (await call("POST", "auth/token/renew-self", {}, token)).body?.auth.lease_duration;
    now += 15_000;
    expect(await renew()).toBe(20);
    now += 15_000;
    expect(await renew()).toBe(20);
    now += 15_000;
    expect(await renew()).toBe(5);
  });

  it("refuses to renew batch tokens", async () => {
    vault.writeRole("batch", { role_type: "jwt", user_claim: "sub", bound_audiences: AUD, token_type: "batch" });
    const auth = (await login(await mint(), "batch")).body!.auth;
    expect(auth).toMatchObject({ renewable: false, token_type: "batch" });
    expect(await call("POST", "auth/token/renew-self", {}, auth.client_token)).toEqual({
      status: 400,
      body: { errors: ["batch tokens cannot be renewed"] },
    });
  });
});

describe("policies, KV v2 and faults", () => {
  it("answers permission denied for an ungranted path, honours + and deny", async () => {
    vault.writePolicy(
      "p",
      `path "secret/data/+/x" { capabilities = ["read"] }\npath "secret/data/no/x" { capabilities = ["deny"] }`,
    );
    vault.writeRole("pol", { role_type: "jwt", user_claim: "sub", bound_audiences: AUD, token_policies: "p" });
    const token = (await login(await mint(), "pol")).body!.auth.client_token as string;
    expect(await call("GET", "secret/data/yes/x", undefined, token)).toEqual({ status: 404, body: { errors: [] } });
    expect(await call("GET", "secret/data/no/x", undefined, token)).toEqual({
      status: 403,
      body: { errors: ["permission denied"] },
    });
    expect((await call("POST", "secret/data/yes/x", { data: {} }, token)).status).toBe(403);
  });

  it("answers a read of a deleted KV version with 404, data null and its deletion time", async () => {
    await call("POST", "secret/data/k", { data: { a: 1 } }, vault.rootToken);
    expect((await call("DELETE", "secret/data/k", undefined, vault.rootToken)).status).toBe(204);
    const read = await call("GET", "secret/data/k", undefined, vault.rootToken);
    expect(read.status).toBe(404);
    expect(read.body?.errors).toBeUndefined();
    expect(read.body?.data.data).toBeNull();
    expect(read.body?.data.metadata).toMatchObject({ version: 1, destroyed: false });
    expect(read.body?.data.metadata.deletion_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it("fails, seals and refuses connections on demand", async () => {
    vault.failNext({ status: 500, errors: ["boom"], pathPrefix: "sys/health" });
    expect((await call("GET", "sys/health")).status).toBe(500);
    expect((await call("GET", "sys/health")).status).toBe(200);
    await vault.setAvailable(false);
    expect(await call("GET", "sys/health")).toEqual({ status: 503, body: { errors: ["Vault is sealed"] } });
    await vault.setAvailable(false, { mode: "refuse" });
    await expect(fetch(`${vault.address}/v1/sys/health`)).rejects.toThrow();
    await vault.setAvailable(true);
    expect((await call("GET", "sys/health")).status).toBe(200);
  });
});
