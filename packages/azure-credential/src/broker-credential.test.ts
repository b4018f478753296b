import type { GetTokenOptions } from "@azure/core-auth";
import { InvalidTokenRequestError, LauncherUnavailableError } from "@confspace/attestation";
import { CredentialUnavailableError } from "@confspace/core";
import { type BrokerCredentialRequest, BrokerError, requestBrokerCredential } from "@confspace/ekm-tls";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type BrokerCredentialOptions, ConfidentialSpaceBrokerCredential } from "./broker-credential.js";
import { AzureCredentialOptionError, AzureScopeError } from "./errors.js";

// The broker exchange itself is tested in ekm-tls and end to end; here it is a stub, so
// the cache and option behaviour can run on fake timers.
vi.mock("@confspace/ekm-tls", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@confspace/ekm-tls")>()),
  requestBrokerCredential: vi.fn(),
}));

type AbortSignalLike = NonNullable<GetTokenOptions["abortSignal"]>;
const broker = vi.mocked(requestBrokerCredential);
const SCOPE = "https://storage.azure.com/.default";
const BASE: BrokerCredentialOptions = {
  brokerUrl: "https://broker.example:8443",
  audience: "https://broker.example",
  tokenSource: { getToken: async () => "unused" },
};
let issued = 0;

/** The broker's reply for a token living `lifetimeS` seconds, to be refreshed after `refreshInS`. */
function reply(lifetimeS = 100, refreshInS: number | null = 50) {
  issued += 1;
  return {
    access_token: `token-${issued}`,
    token_type: "Bearer",
    expires_on: Math.floor(Date.now() / 1000) + lifetimeS,
    ...(refreshInS === null ? {} : { refresh_in: refreshInS }),
  };
}

const credentials: ConfidentialSpaceBrokerCredential[] = [];
function create(options: BrokerCredentialOptions = {}) {
  const credential = new ConfidentialSpaceBrokerCredential({ ...BASE, ...options });
  credentials.push(credential);
  return credential;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000, toFake: ["Date", "setTimeout", "clearTimeout"] });
  broker.mockReset();
  broker.mockImplementation(async () => reply());
});
afterEach(() => {
  for (const credential of credentials.splice(0)) credential.dispose();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe("options", () => {
  it.each([
    ["no brokerUrl", { brokerUrl: undefined }, "brokerUrl", "CONFSPACE_BROKER_URL"],
    ["an empty brokerUrl", { brokerUrl: "" }, "brokerUrl", "CONFSPACE_BROKER_URL"],
    ["an http brokerUrl", { brokerUrl: "http://broker.example" }, "brokerUrl", "CONFSPACE_BROKER_URL"],
    ["a brokerUrl with a path", { brokerUrl: "https://broker.example/v1/token" }, "brokerUrl", "CONFSPACE_BROKER_URL"],
    ["a brokerUrl with a query", { brokerUrl: "https://broker.example/?a=1" }, "brokerUrl", "CONFSPACE_BROKER_URL"],
    ["a brokerUrl that is not a URL", { brokerUrl: "broker.example" }, "brokerUrl", "CONFSPACE_BROKER_URL"],
    ["no audience", { audience: undefined }, "audience", "CONFSPACE_BROKER_AUDIENCE"],
    ["an unknown tokenType", { tokenType: "AWS_PRINCIPALTAGS" }, "tokenType", undefined],
    ["a client certificate without key", { clientCertificate: { cert: "PEM" } }, "clientCertificate", undefined],
    ["a tenantId with spaces", { tenantId: "my tenant" }, "tenantId", undefined],
    ["a zero timeoutMs", { timeoutMs: 0 }, "timeoutMs", undefined],
    ["a NaN timeoutMs", { timeoutMs: Number.NaN }, "timeoutMs", undefined],
    ["tokenSource and launcherSocket", { launcherSocket: "/tmp/x.sock" }, "tokenSource", undefined],
    ["a tokenSource without getToken", { tokenSource: {} }, "tokenSource", undefined],
  ])("refuses %s, naming the option and its variable", (_name, change, option, envVar) => {
    const error = (() => {
      try {
        create(change as BrokerCredentialOptions);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AzureCredentialOptionError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option, envVar });
    if (envVar !== undefined) expect((error as Error).message).toContain(envVar);
  });

  it.each([
    ["Google's STS audience", "https://sts.googleapis.com"],
    ["an audience over 512 bytes", `https://${"a".repeat(520)}`],
  ])("refuses %s as the launcher would", (_name, audience) => {
    expect(() => create({ audience })).toThrow(InvalidTokenRequestError);
  });

  it("reads CONFSPACE_BROKER_URL and CONFSPACE_BROKER_AUDIENCE, the options winning over them", () => {
    vi.stubEnv("CONFSPACE_BROKER_URL", " https://env-broker.example:9443 ");
    vi.stubEnv("CONFSPACE_BROKER_AUDIENCE", "https://env-audience.example");
    const fromEnv = create({ brokerUrl: undefined, audience: undefined });
    expect(fromEnv).toMatchObject({
      brokerUrl: "https://env-broker.example:9443",
      audience: "https://env-audience.example",
    });
    const explicit = create();
    expect(explicit).toMatchObject({ brokerUrl: "https://broker.example:8443", audience: "https://broker.example" });
  });

  it("sends the Azure request with the TLS, token type and timeout options", async () => {
    const source = { getToken: async () => "t" };
    const credential = create({
      ca: "CA-PEM",
      clientCertificate: { cert: "CERT-PEM", key: "KEY-PEM" },
      tokenType: "PKI",
      timeoutMs: 1234,
      tokenSource: source,
    });
    await credential.getToken(SCOPE);
    const request = broker.mock.calls[0]?.[0] as BrokerCredentialRequest;
    expect(request).toMatchObject({
      brokerUrl: "https://broker.example:8443",
      audience: "https://broker.example",
      tls: { ca: "CA-PEM", cert: "CERT-PEM", key: "KEY-PEM" },
      tokenType: "PKI",
      timeoutMs: 1234,
      tokenSource: source,
      body: { provider: "azure", scope: SCOPE },
    });
    expect(request.signal).toBeInstanceOf(AbortSignal);
  });

  it("asks the launcher on launcherSocket when no token source is given", async () => {
    const credential = create({ tokenSource: undefined, launcherSocket: "/run/x/teeserver.sock" });
    await credential.getToken(SCOPE);
    expect(broker.mock.calls[0]?.[0].launcher?.socketPath).toBe("/run/x/teeserver.sock");
    expect(broker.mock.calls[0]?.[0].tokenSource).toBeUndefined();
  });
});

describe("getToken", () => {
  it.each([
    ["no scope", []],
    ["two scopes", [SCOPE, "https://vault.azure.net/.default"]],
    ["the same scope twice", [SCOPE, SCOPE]],
    ["a resource without /.default", "https://storage.azure.com"],
    ["a delegated scope", "https://graph.microsoft.com/User.Read"],
    ["an empty scope", ""],
    ["a scope with a space", "https://storage.azure.com/ x/.default"],
    ["a non-string scope", [42]],
  ])("refuses %s without calling the broker", async (_name, scopes) => {
    const error = await create()
      .getToken(scopes as string[])
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AzureScopeError);
    expect((error as Error).message).toContain("/.default");
    expect(broker).not.toHaveBeenCalled();
  });

  it("returns the token with ms timestamps and Bearer type", async () => {
    const token = await create().getToken(SCOPE);
    expect(token).toEqual({
      token: `token-${issued}`,
      expiresOnTimestamp: Math.floor(Date.now() / 1000) * 1000 + 100_000,
      refreshAfterTimestamp: Date.now() + 50_000,
      tokenType: "Bearer",
    });
  });

  it("makes one broker call for many concurrent callers", async () => {
    const credential = create();
    const tokens = await Promise.all(Array.from({ length: 25 }, () => credential.getToken(SCOPE)));
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
    expect(broker).toHaveBeenCalledTimes(1);
  });

  it("caches per scope", async () => {
    const credential = create();
    const storage = await credential.getToken(SCOPE);
    const vault = await credential.getToken("https://vault.azure.net/.default");
    expect(storage.token).not.toBe(vault.token);
    expect(broker).toHaveBeenCalledTimes(2);
    expect(broker.mock.calls[1]?.[0].body).toEqual({ provider: "azure", scope: "https://vault.azure.net/.default" });
  });

  it("refreshes in the background at refresh_in, serving the cached token until then", async () => {
    const credential = create();
    const first = await credential.getToken(SCOPE);
    await vi.advanceTimersByTimeAsync(49_000);
    expect((await credential.getToken(SCOPE)).token).toBe(first.token);
    expect(broker).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(broker).toHaveBeenCalledTimes(2);
    expect((await credential.getToken(SCOPE)).token).not.toBe(first.token);
  });

  it("without refresh_in, refreshes 5 minutes before expiry", async () => {
    broker.mockImplementation(async () => reply(3600, null));
    const credential = create();
    await credential.getToken(SCOPE);
    await vi.advanceTimersByTimeAsync(3_299_000);
    expect(broker).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(broker).toHaveBeenCalledTimes(2);
  });

  it("never returns an expired token when refreshes keep failing", async () => {
    const credential = create();
    await credential.getToken(SCOPE);
    const failure = new BrokerError("ERR_BROKER_UNAVAILABLE", "https://broker.example:8443", "down", { status: 503 });
    broker.mockImplementation(async () => {
      throw failure;
    });
    await vi.advanceTimersByTimeAsync(100_000);
    const error = await credential.getToken(SCOPE).catch((caught: unknown) => caught);
    // Either this call's own fetch failed, or the cache is backing off and says why.
    if (error !== failure) expect(error).toMatchObject({ code: "ERR_TOKEN_UNAVAILABLE", cause: failure });
    expect(broker.mock.calls.length).toBeGreaterThan(2);
  });

  it("a claims challenge makes one new broker call; an empty claims string does not", async () => {
    const credential = create();
    const first = await credential.getToken(SCOPE);
    await credential.getToken(SCOPE, { claims: "" });
    expect(broker).toHaveBeenCalledTimes(1);
    const challenged = await credential.getToken(SCOPE, { claims: '{"access_token":{}}', enableCae: true });
    expect(broker).toHaveBeenCalledTimes(2);
    expect(challenged.token).not.toBe(first.token);
  });

  it("without a configured tenant, a requested tenant shares the one cached token", async () => {
    const credential = create();
    await credential.getToken(SCOPE);
    await credential.getToken(SCOPE, { tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" });
    expect(broker).toHaveBeenCalledTimes(1);
  });

  it("with a configured tenant, refuses another tenant and serves the same one", async () => {
    const credential = create({ tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" });
    await expect(credential.getToken(SCOPE, { tenantId: "other-tenant.onmicrosoft.com" })).rejects.toMatchObject({
      code: "ERR_TENANT_MISMATCH",
      requestedTenantId: "other-tenant.onmicrosoft.com",
    });
    await credential.getToken(SCOPE);
    await credential.getToken(SCOPE, { tenantId: "72F988BF-86F1-41AF-91AB-2D7CD011DB47" });
    expect(broker).toHaveBeenCalledTimes(1);
  });

  it("honours an Azure AbortSignalLike (not a native signal) without cancelling the shared call", async () => {
    const { promise, resolve } = Promise.withResolvers<Record<string, unknown>>();
    broker.mockImplementation(() => promise);
    const listeners: Array<() => void> = [];
    const like = {
      aborted: false,
      reason: undefined,
      addEventListener: (_type: "abort", listener: () => void) => {
        listeners.push(listener);
      },
      removeEventListener: () => {},
    };
    const credential = create();
    const abandoned = credential.getToken(SCOPE, { abortSignal: like as unknown as AbortSignalLike });
    const patient = credential.getToken(SCOPE);
    like.aborted = true;
    for (const listener of listeners) listener();
    await expect(abandoned).rejects.toMatchObject({ name: "AbortError" });
    resolve(reply());
    await expect(patient).resolves.toMatchObject({ tokenType: "Bearer" });
    expect(broker).toHaveBeenCalledTimes(1);
  });

  it("turns the launcher's absence into a CredentialUnavailableError named for Azure's chains", async () => {
    const missing = new LauncherUnavailableError("/run/container_launcher/teeserver.sock", "no launcher socket");
    broker.mockRejectedValue(missing);
    const error = await create()
      .getToken(SCOPE)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect(error).toMatchObject({
      name: "CredentialUnavailableError",
      code: "ERR_LAUNCHER_UNAVAILABLE",
      cause: missing,
    });
  });

  it("passes broker errors through as they are", async () => {
    const denied = new BrokerError("ERR_BROKER_DENIED", "https://broker.example:8443", "denied", {
      status: 401,
      check: "image_digest",
    });
    broker.mockRejectedValue(denied);
    await expect(create().getToken(SCOPE)).rejects.toBe(denied);
  });

  it("rejects after dispose", async () => {
    const credential = create();
    credential.dispose();
    await expect(credential.getToken(SCOPE)).rejects.toMatchObject({ code: "ERR_DISPOSED" });
  });
});
