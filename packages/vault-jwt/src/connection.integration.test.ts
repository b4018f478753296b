import { inspect } from "node:util";
import { defaultTokenSource } from "@confspace/attestation";
import { createTestPki, type TestPki } from "@confspace/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Harness, scriptedSource, startHarness } from "../test/harness.js";
import { VaultJwtClient, VaultOptionError, VaultUnavailableError } from "./index.js";

let pki: TestPki;
let h: Harness | undefined;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki?.cleanup();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await h?.stop();
  h = undefined;
});

describe("TLS", () => {
  it("is refused by a Vault that requires a client certificate when none is sent", async () => {
    h = await startHarness({
      vault: { tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requireClientCert: true } },
    });
    const error = await h
      .client({ tls: { ca: pki.caPem } })
      .token()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect(h.vault.requests).toHaveLength(0);
  });

  it("logs in over mTLS with the client certificate, CA and key taken from Vault's own variables", async () => {
    h = await startHarness({
      vault: { tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requireClientCert: true } },
    });
    vi.stubEnv("VAULT_CACERT", pki.caPath);
    vi.stubEnv("VAULT_CLIENT_CERT", pki.clientCertPath);
    vi.stubEnv("VAULT_CLIENT_KEY", pki.clientKeyPath);
    const client = h.client();
    await client.kv().write("app/tls", { over: "mtls" });
    expect((await client.kv().read("app/tls"))?.data).toEqual({ over: "mtls" });
    expect(h.count("auth/jwt/login", 200)).toBe(1);
  });

  it("does not trust a server certificate from an unknown CA", async () => {
    h = await startHarness({ vault: { tls: { cert: pki.serverCertPem, key: pki.serverKeyPem } } });
    const error = await h
      .client()
      .token()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultUnavailableError);
    expect((error as Error).message).toMatch(/TLS failed .*VAULT_CACERT/);
  });
});

describe("options and environment", () => {
  it("sends X-Vault-Namespace, from CONFSPACE_VAULT_NAMESPACE before VAULT_NAMESPACE", async () => {
    h = await startHarness({ vault: { namespace: "team-a" } });
    vi.stubEnv("VAULT_NAMESPACE", "team-b");
    await expect(h.client().token()).rejects.toMatchObject({ status: 404 });
    vi.stubEnv("CONFSPACE_VAULT_NAMESPACE", "team-a/");
    const client = h.client();
    expect(client.namespace).toBe("team-a");
    await client.token();
    expect(h.vault.requests.at(-1)).toMatchObject({ path: "auth/jwt/login", status: 200, namespace: "team-a" });
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
      clock: h.clock,
    });
    try {
      await expect(h.client({ tokenSource: source }).token()).resolves.toMatch(/^hvs\./);
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
    h = await startHarness({ role: { token_ttl: 30, token_max_ttl: 45 } });
    const seen: string[] = [];
    const jwts: string[] = [];
    const source = scriptedSource([
      async () => {
        const jwt = await h!.emulator.mintToken({ audience: "https://vault.confspace.test" });
        jwts.push(jwt);
        return jwt;
      },
    ]);
    const client = h.client({ tokenSource: source, random: () => 0.5 });
    const vaultTokens = [await client.token()];
    const capture = async (work: Promise<unknown>) => {
      const error = await work.catch((e: unknown) => e);
      seen.push(inspect(error, { depth: 10 }), JSON.stringify(error), String((error as Error)?.message));
    };
    await capture(client.kv().read("forbidden/x"));
    await h.clock.advance(11_000);
    h.vault.revokeAllTokens();
    await capture(client.kv().read("forbidden/x"));
    vaultTokens.push(await client.token());
    await h.vault.setAvailable(false);
    await h.clock.advance(60_000, 1_000);
    await capture(client.token());
    await h.vault.setAvailable(true);
    const denied = new VaultJwtClient({
      address: h.vault.address,
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
    expect(text).not.toMatch(/hv[sb]\.[A-Za-z0-9]{20}/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
