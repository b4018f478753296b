import { createServer as createTcpServer } from "node:net";
import { ChainedTokenCredential } from "@azure/identity";
import { CredentialUnavailableError } from "@confspace/core";
import { BrokerError, EkmError } from "@confspace/ekm-tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AzureStack, CLIENT_SECRET, STORAGE_SCOPE, startAzureStack, TENANT_ID } from "../test/stack.js";

/** Claims of a JWT, unverified (test inspection only). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<string, unknown>;
}

describe("ConfidentialSpaceBrokerCredential against the token broker", () => {
  let stack: AzureStack;

  beforeAll(async () => {
    stack = await startAzureStack();
  });
  afterAll(() => stack?.stop());

  it("gets an Entra token for the granted scope through the broker, with ms timestamps", async () => {
    const before = stack.brokerRequests("ok");
    const credential = stack.credential();
    const started = Date.now();
    const token = await credential.getToken(STORAGE_SCOPE);
    expect(token.tokenType).toBe("Bearer");
    expect(token.expiresOnTimestamp).toBeGreaterThan(started + 3_500_000);
    expect(token.expiresOnTimestamp).toBeLessThan(started + 3_700_000);
    expect(token.refreshAfterTimestamp).toBeGreaterThan(started);
    expect(token.refreshAfterTimestamp).toBeLessThan(token.expiresOnTimestamp);
    const claims = claimsOf(token.token);
    expect(claims).toMatchObject({ aud: "https://storage.azure.com", iss: `https://sts.windows.net/${TENANT_ID}/` });
    expect(stack.brokerRequests("ok")).toBe(before + 1);
  });

  it("serves concurrent callers, repeated calls and both scope forms from one broker call", async () => {
    const before = stack.brokerRequests();
    const credential = stack.credential();
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => credential.getToken(i % 2 === 0 ? STORAGE_SCOPE : [STORAGE_SCOPE])),
    );
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
    expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(tokens[0]?.token);
    expect(stack.brokerRequests()).toBe(before + 1);
  });

  it("makes a new broker call for a claims challenge, and serves the new token afterwards", async () => {
    const credential = stack.credential();
    await credential.getToken(STORAGE_SCOPE);
    const before = stack.brokerRequests();
    const challenged = await credential.getToken(STORAGE_SCOPE, {
      claims: '{"access_token":{"nbf":{"essential":true}}}',
    });
    expect(stack.brokerRequests()).toBe(before + 1);
    expect((await credential.getToken(STORAGE_SCOPE)).token).toBe(challenged.token);
    expect(stack.brokerRequests()).toBe(before + 1);
  });

  it("accepts the configured tenant and refuses another one without calling the broker", async () => {
    const credential = stack.credential({ tenantId: TENANT_ID });
    await expect(credential.getToken(STORAGE_SCOPE, { tenantId: TENANT_ID.toUpperCase() })).resolves.toMatchObject({
      tokenType: "Bearer",
    });
    const before = stack.brokerRequests();
    await expect(
      credential.getToken(STORAGE_SCOPE, { tenantId: "00000000-0000-0000-0000-000000000001" }),
    ).rejects.toMatchObject({ code: "ERR_TENANT_MISMATCH", tenantId: TENANT_ID });
    expect(stack.brokerRequests()).toBe(before);
  });

  it("says which check failed when the image is not approved", async () => {
    const credential = stack.credential({ tokenSource: stack.unapprovedImage() });
    const error = (await credential.getToken(STORAGE_SCOPE).catch((caught: unknown) => caught)) as BrokerError;
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({
      code: "ERR_BROKER_DENIED",
      status: 401,
      error: "invalid_token",
      check: "image_digest",
    });
    expect(error.message).toContain("image_digest");
    expect(error.message).toContain("not approved");
  });

  it("reports a scope no grant lists as denied (403), without a check", async () => {
    const credential = stack.credential();
    await expect(credential.getToken("https://vault.azure.net/.default")).rejects.toMatchObject({
      code: "ERR_BROKER_DENIED",
      status: 403,
      error: "access_denied",
      check: undefined,
    });
  });

  it("reports a token for another audience as check audience", async () => {
    const credential = stack.credential({
      tokenSource: {
        getToken: ({ nonces } = {}) =>
          stack.emulator.mintToken({ audience: "https://someone-else.example", nonces: [...(nonces ?? [])] }),
      },
    });
    await expect(credential.getToken(STORAGE_SCOPE)).rejects.toMatchObject({
      code: "ERR_BROKER_DENIED",
      check: "audience",
    });
  });

  it("reports a token bound to another connection as check nonce", async () => {
    const credential = stack.credential({
      tokenSource: {
        getToken: () =>
          stack.emulator.mintToken({ audience: "https://broker.confspace.test", nonces: ["A".repeat(43)] }),
      },
    });
    await expect(credential.getToken(STORAGE_SCOPE)).rejects.toMatchObject({
      code: "ERR_BROKER_DENIED",
      check: "nonce",
    });
  });

  it("never logs or throws the attestation token, the access token or the broker's secret", async () => {
    const lines: string[] = [];
    const capture = (message: string, fields?: object) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
    const logger = { debug: capture, info: capture, warn: capture, error: capture };
    const good = stack.credential({ logger });
    const token = await good.getToken(STORAGE_SCOPE);
    const denied = stack.credential({ logger, tokenSource: stack.unapprovedImage() });
    const error = (await denied.getToken(STORAGE_SCOPE).catch((caught: unknown) => caught)) as Error;
    expect(lines.some((line) => line.includes("Azure access token obtained"))).toBe(true);
    expect(lines.some((line) => line.includes("image_digest"))).toBe(true);
    const everything = [
      ...lines,
      error.message,
      JSON.stringify(error),
      ...stack.brokerLogs().map((r) => JSON.stringify(r)),
    ].join("\n");
    expect(everything).not.toContain(token.token);
    expect(everything).not.toContain(token.token.split(".")[2]);
    expect(everything).not.toContain(CLIENT_SECRET);
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});

describe("ConfidentialSpaceBrokerCredential when things are missing", () => {
  let stack: AzureStack;

  beforeAll(async () => {
    stack = await startAzureStack();
  });
  afterAll(() => stack?.stop());

  it("gives ERR_BROKER_UNAVAILABLE when the broker is down, and does not ask the launcher", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    let asked = 0;
    const credential = stack.credential({
      brokerUrl: `https://127.0.0.1:${port}`,
      tokenSource: {
        getToken: async () => {
          asked += 1;
          return "never";
        },
      },
    });
    const error = (await credential.getToken(STORAGE_SCOPE).catch((caught: unknown) => caught)) as BrokerError;
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe("ERR_BROKER_UNAVAILABLE");
    expect(error.message).toContain("Cannot reach the token broker");
    expect(asked).toBe(0);
    // While backing off, callers get core's TokenUnavailableError with the broker error as cause.
    const again = await credential.getToken(STORAGE_SCOPE).catch((caught: unknown) => caught);
    expect(again).toMatchObject({ code: "ERR_TOKEN_UNAVAILABLE", cause: error });
  });

  it("gives ERR_BROKER_TLS caused by ERR_TLS_VERSION for a broker that only speaks TLS 1.2", async () => {
    const { createServer } = await import("node:https");
    const server = createServer(
      { cert: stack.pki.serverCertPem, key: stack.pki.serverKeyPem, maxVersion: "TLSv1.2" },
      (_req, res) => res.end(),
    );
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const credential = stack.credential({ brokerUrl: `https://localhost:${port}` });
      const error = (await credential.getToken(STORAGE_SCOPE).catch((caught: unknown) => caught)) as BrokerError;
      expect(error).toMatchObject({ code: "ERR_BROKER_TLS" });
      expect(error.cause).toBeInstanceOf(EkmError);
      expect(error.cause).toMatchObject({ code: "ERR_TLS_VERSION" });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("outside Confidential Space is a CredentialUnavailableError that Azure's ChainedTokenCredential skips", async () => {
    const credential = stack.credential({ launcherSocket: `${stack.pki.dir}/no-launcher.sock` });
    const error = await credential.getToken(STORAGE_SCOPE).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect(error).toMatchObject({ name: "CredentialUnavailableError", code: "ERR_LAUNCHER_UNAVAILABLE" });
    const fallback = { getToken: async () => ({ token: "fallback", expiresOnTimestamp: Date.now() + 60_000 }) };
    const chained = new ChainedTokenCredential(
      stack.credential({ launcherSocket: `${stack.pki.dir}/no-launcher-2.sock` }),
      fallback,
    );
    await expect(chained.getToken(STORAGE_SCOPE)).resolves.toMatchObject({ token: "fallback" });
  });

  it("honours an abort signal while the broker call continues for others", async () => {
    const credential = stack.credential();
    stack.emulator.delayNext(500);
    const controller = new AbortController();
    const abandoned = credential.getToken(STORAGE_SCOPE, { abortSignal: controller.signal });
    const patient = credential.getToken(STORAGE_SCOPE);
    controller.abort();
    await expect(abandoned).rejects.toMatchObject({ name: "AbortError" });
    await expect(patient).resolves.toMatchObject({ tokenType: "Bearer" });
  });

  it("with mutual TLS: works with the client certificate, ERR_BROKER_TLS without", async () => {
    const mtls = await startAzureStack({
      editConfig: (config, { pki }) => {
        config.tls.clientCaFile = pki.caPath;
      },
    });
    try {
      const withCert = mtls.credential({
        clientCertificate: { cert: mtls.pki.clientCertPem, key: mtls.pki.clientKeyPem },
      });
      await expect(withCert.getToken(STORAGE_SCOPE)).resolves.toMatchObject({ tokenType: "Bearer" });
      const without = mtls.credential();
      await expect(without.getToken(STORAGE_SCOPE)).rejects.toMatchObject({ code: "ERR_BROKER_TLS" });
    } finally {
      await mtls.stop();
    }
  });
});
