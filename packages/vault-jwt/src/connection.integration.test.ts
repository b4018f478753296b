import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { defaultTokenSource } from "@confspace/attestation";
import { startEmulator } from "@confspace/emulator";
import { createTestPki, startOpenBao, type TestPki } from "@confspace/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AUDIENCE, type Harness, scriptedSource, setUpOpenBao, sleep, startHarness } from "../test/harness.js";
import { VaultJwtClient, type VaultJwtClientOptions, VaultOptionError, VaultUnavailableError } from "./index.js";

let pki: TestPki;
let h: Harness | undefined;
const stops: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.allSettled(
    stops
      .splice(0)
      .reverse()
      .map((stop) => stop()),
  );
  await h?.stop();
  h = undefined;
});

/** OpenBao over TLS with the test PKI, set up like the harness's, clients straight to it (no proxy). */
async function startTlsOpenBao(requireClientCert: boolean) {
  const emulator = await startEmulator({ writeTokenFile: false });
  const bao = await startOpenBao({ tls: { pki, requireClientCert } });
  await setUpOpenBao(bao, emulator);
  stops.push(async () => {
    await bao.close();
    await emulator.stop();
  });
  const client = (options: VaultJwtClientOptions = {}) => {
    const c = new VaultJwtClient({
      address: bao.address,
      role: "app",
      audience: AUDIENCE,
      launcher: { socketPath: emulator.socketPath },
      ...options,
    });
    stops.push(() => c.dispose());
    return c;
  };
  return { emulator, bao, client };
}

describe("TLS", () => {
  it("is refused by an OpenBao that requires a client certificate when none is sent", async () => {
    const { client } = await startTlsOpenBao(true);
    const error = await client({ tls: { ca: pki.caPem } })
      .token()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(error).toMatchObject({ status: 0 });
  });

  it("logs in over mTLS with the client certificate, CA and key taken from Vault's own variables", async () => {
    const { client } = await startTlsOpenBao(true);
    vi.stubEnv("VAULT_CACERT", pki.caPath);
    vi.stubEnv("VAULT_CLIENT_CERT", pki.clientCertPath);
    vi.stubEnv("VAULT_CLIENT_KEY", pki.clientKeyPath);
    const c = client();
    await c.kv().write("app/tls", { over: "mtls" });
    expect((await c.kv().read("app/tls"))?.data).toEqual({ over: "mtls" });
  });

  it("does not trust a server certificate from an unknown CA", async () => {
    const { client } = await startTlsOpenBao(false);
    const error = await client()
      .token()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect((error as Error).message).toMatch(/TLS failed .*VAULT_CACERT/);
  });

  it("verifies the issuer's keys over HTTPS with jwks_url and jwks_ca_pem, and refuses the URL without the CA", async () => {
    const { emulator, bao, client } = await startTlsOpenBao(false);
    // The emulator serves HTTP; an HTTPS front with the test PKI serves its JWKS.
    const front = createHttpsServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, async (_req, res) => {
      const jwks = await (await fetch(emulator.jwksUri)).text();
      res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    stops.push(() => new Promise<void>((resolve) => front.close(() => resolve())));
    const jwksUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}/jwks`;
    const refused = await bao.request({
      method: "POST",
      path: "auth/jwt/config",
      body: { jwks_url: jwksUrl, bound_issuer: emulator.issuer },
      accept: [400],
    });
    expect({ status: refused.status, errors: refused.body?.errors }).toEqual({
      status: 400,
      errors: ["error checking jwks URL"],
    });
    await bao.request({
      method: "POST",
      path: "auth/jwt/config",
      body: { jwks_url: jwksUrl, jwks_ca_pem: pki.caPem, bound_issuer: emulator.issuer },
    });
    await expect(client({ tls: { ca: pki.caPem } }).token()).resolves.toMatch(/^(?:s|hvs)\./);
  });
});

/** What OpenBao answers a login to a namespace that does not exist. */
const NO_NAMESPACE_STATUS = 404;

describe("options and environment", () => {
  it("sends X-Vault-Namespace, from CONFSPACE_VAULT_NAMESPACE before VAULT_NAMESPACE", async () => {
    h = await startHarness();
    await setUpOpenBao(h.bao, h.emulator, { namespace: "team-a" });
    vi.stubEnv("VAULT_NAMESPACE", "team-b");
    await expect(h.client().token()).rejects.toMatchObject({ status: NO_NAMESPACE_STATUS });
    vi.stubEnv("CONFSPACE_VAULT_NAMESPACE", "team-a/");
    const client = h.client();
    expect(client.namespace).toBe("team-a");
    await client.kv().write("app/in-team-a", { ok: true });
    expect(h.proxy.requests.at(-2)).toMatchObject({ path: "/v1/auth/jwt/login", status: 200 });
    expect(h.proxy.requests.at(-2)?.headers["x-vault-namespace"]).toBe("team-a");
    // The secret is in team-a's own KV mount, not the root's.
    const root = await h.bao.request({ method: "GET", path: "secret/data/app/in-team-a", accept: [404] });
    expect(root.status).toBe(404);
    const inTeam = await h.bao.request({ method: "GET", path: "secret/data/app/in-team-a", namespace: "team-a" });
    expect(inTeam.body?.data).toMatchObject({ data: { ok: true } });
  });

  it("takes the address from CONFSPACE_VAULT_ADDR before VAULT_ADDR, and names both when neither is set", () => {
    vi.stubEnv("CONFSPACE_VAULT_ADDR", "");
    vi.stubEnv("VAULT_ADDR", "");
    expect(() => new VaultJwtClient({ audience: "https://v" })).toThrow(
      /CONFSPACE_VAULT_ADDR \(or Vault's VAULT_ADDR\)/,
    );
    vi.stubEnv("VAULT_ADDR", "https://vault.example:8200");
    expect(new VaultJwtClient({ audience: "https://v" }).address).toBe("https://vault.example:8200");
    vi.stubEnv("CONFSPACE_VAULT_ADDR", "https://confspace.example:8200");
    expect(new VaultJwtClient({ audience: "https://v" }).address).toBe("https://confspace.example:8200");
  });

  it.each([
    [{ address: "http://vault.example:8200", audience: "https://v" }, "address"],
    [{ address: "ftp://vault.example", audience: "https://v" }, "address"],
    [{ address: "https://vault.example" }, "audience"],
    [{ address: "https://vault.example", audience: "https://sts.googleapis.com" }, "audience"],
    [{ address: "https://vault.example", audience: "https://v", mount: "../sys" }, "mount"],
    [{ address: "https://vault.example", audience: "https://v", tls: { cert: "x" } }, "tls.key"],
    [{ address: "https://vault.example", audience: "https://v", tls: { caFile: "/nonexistent/ca.pem" } }, "tls.caFile"],
    [{ address: "https://vault.example", audience: "https://v", requestTimeoutMs: 0 }, "requestTimeoutMs"],
  ])("refuses %j naming the option", (options, option) => {
    vi.stubEnv("CONFSPACE_VAULT_AUDIENCE", "");
    const error = (() => {
      try {
        new VaultJwtClient(options);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(VaultOptionError);
    expect(error).toMatchObject({ option, code: "ERR_INVALID_OPTION" });
  });

  it("sends the launcher's default token only when chosen explicitly with tokenSource", async () => {
    h = await startHarness({ role: { bound_audiences: ["https://sts.googleapis.com"] } });
    expect(() => h!.client({ audience: "https://sts.googleapis.com" })).toThrow(/defaultTokenSource/);
    const source = defaultTokenSource({
      tokenFile: "/nonexistent/token",
      launcher: { socketPath: h.emulator.socketPath },
    });
    try {
      await expect(h.client({ tokenSource: source }).token()).resolves.toMatch(/^(?:s|hvs)\./);
    } finally {
      source.dispose();
    }
  });

  it("allows plain http to loopback, and elsewhere only when told", () => {
    expect(() => new VaultJwtClient({ address: "http://127.0.0.1:8200", audience: "https://v" })).not.toThrow();
    expect(
      () =>
        new VaultJwtClient({ address: "http://vault.internal:8200", audience: "https://v", allowInsecureHttp: true }),
    ).not.toThrow();
  });
});

describe("secrecy", () => {
  it("never puts a Vault token or an attestation token in an error, its cause or a log line", async () => {
    h = await startHarness({ role: { token_ttl: 2 } });
    const seen: string[] = [];
    const jwts: string[] = [];
    const source = scriptedSource([
      async () => {
        const jwt = await h!.emulator.mintToken({ audience: "https://vault.confspace.test" });
        jwts.push(jwt);
        return jwt;
      },
    ]);
    const client = h.client({
      tokenSource: source,
      random: () => 0.5,
      reloginCooldownMs: 0,
      retry: { initialDelayMs: 100, maxDelayMs: 200 },
    });
    const vaultTokens = [await client.token()];
    const capture = async (work: Promise<unknown>) => {
      const error = await work.catch((e: unknown) => e);
      seen.push(inspect(error, { depth: 10 }), JSON.stringify(error), String((error as Error)?.message));
    };
    await capture(client.kv().read("forbidden/x"));
    await h.bao.request({ method: "POST", path: "auth/token/revoke", body: { token: vaultTokens[0] } });
    await capture(client.kv().read("forbidden/x"));
    vaultTokens.push(await client.token());
    // Sealed until the token's lease (2 s) has ended: failed renewals, then failed logins.
    await h.bao.seal();
    await capture(client.kv().read("app/x"));
    await sleep(2_500);
    await capture(client.token());
    await h.bao.unseal();
    const denied = new VaultJwtClient({
      address: h.bao.address,
      role: "app",
      tokenSource: scriptedSource([async () => h!.emulator.mintToken({ audience: "https://other" })]),
      logger: {
        debug: (m, f) => seen.push(m, JSON.stringify(f)),
        info: () => {},
        warn: (m, f) => seen.push(m, JSON.stringify(f)),
        error: () => {},
      },
    });
    await capture(denied.token());
    await denied.dispose();
    await client.dispose({ revoke: true });

    const text = [...seen, ...h.logs].join("\n");
    expect(h.logs.some((line) => line.includes("vault login succeeded"))).toBe(true);
    expect(h.logs.some((line) => line.includes("vault token refresh failed"))).toBe(true);
    for (const secret of [...vaultTokens, ...jwts]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/hv[sb]\.[A-Za-z0-9]{20}|\bs\.[A-Za-z0-9]{24}\b/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });

  it("masks OpenBao's token shapes (s. service, b. batch) echoed in Vault's errors (proxy fault)", async () => {
    h = await startHarness({ role: { token_type: "batch" } });
    const client = h.client();
    const batch = await client.token();
    expect(batch).toMatch(/^b\.[A-Za-z0-9_-]{100,}$/); // OpenBao 2.7.2 batch tokens: b. and ~160 characters
    const service = "s.AbCdEfGhIjKlMnOpQrStUvWx";
    h.proxy.failNext({ status: 400, message: `bad tokens ${batch} and ${service}`, pathPrefix: "/v1/secret/" });
    const error = await client
      .kv()
      .read("app/x")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, errors: ["bad tokens [REDACTED] and [REDACTED]"] });
  });
});
