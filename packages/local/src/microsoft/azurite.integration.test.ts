import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki, trustCaInProcess } from "../tls.js";
import { type LocalAzurite, startAzurite } from "./azurite.js";

/** A JWT whose signature Azurite does not check (`--oauth basic`), with claims it does. */
function bearer(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}

const now = () => Math.floor(Date.now() / 1000);
const good = () => ({
  iss: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
  aud: "https://storage.azure.com",
  iat: now() - 60,
  nbf: now() - 60,
  exp: now() + 600,
});

describe("startAzurite", () => {
  let pki: TestPki;
  let untrust: () => void;
  let azurite: LocalAzurite;

  beforeAll(async () => {
    pki = await createTestPki();
    untrust = trustCaInProcess(pki.caPem);
    azurite = await startAzurite({ tls: { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath } });
  });
  afterAll(async () => {
    await azurite?.close();
    untrust?.();
    await pki?.cleanup();
  });

  const listContainers = (token: string) =>
    fetch(`${azurite.accountUrl}?comp=list`, {
      headers: { authorization: `Bearer ${token}`, "x-ms-version": "2025-01-05" },
    });

  it("listens over HTTPS on a loopback port, for the development account", () => {
    expect(azurite.blobEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(azurite.accountUrl).toBe(`${azurite.blobEndpoint}/devstoreaccount1`);
  });

  it("accepts an Entra v1 bearer token for Azure Storage", async () => {
    const res = await listContainers(bearer(good()));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<EnumerationResults");
  });

  it.each([
    ["a v2 issuer", { iss: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0" }],
    ["another audience", { aud: "https://vault.azure.net" }],
    ["an expired token", { exp: now() - 10 }],
    ["no nbf", { nbf: undefined }],
  ])("refuses %s", async (_name, change) => {
    const res = await listContainers(bearer({ ...good(), ...change }));
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("AuthenticationFailed");
  });

  it("records each request with the container and blob, and the bearer token redacted", async () => {
    const token = bearer(good());
    const res = await fetch(`${azurite.accountUrl}/no-such-container/a/b.txt`, {
      headers: { authorization: `Bearer ${token}`, "x-ms-version": "2025-01-05" },
    });
    expect(res.status).toBe(404);
    expect(azurite.requests.at(-1)).toMatchObject({
      method: "GET",
      path: "/devstoreaccount1/no-such-container/a/b.txt",
      container: "no-such-container",
      blob: "a/b.txt",
      status: 404,
      error: "ContainerNotFound",
      fault: false,
      headers: { authorization: "[redacted]", "x-ms-version": "2025-01-05" },
    });
    expect(JSON.stringify(azurite.requests)).not.toContain(token);
  });

  it("failNext answers Azure Storage's XML error (503 ServerBusy by default) for count requests, then forwards again", async () => {
    azurite.failNext({ status: 503, count: 2, headers: { "retry-after": "1" } });
    for (let i = 0; i < 2; i++) {
      const res = await listContainers(bearer(good()));
      expect(res.status).toBe(503);
      expect(res.headers.get("x-ms-error-code")).toBe("ServerBusy");
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.text()).toMatch(/<Error><Code>ServerBusy<\/Code><Message>Injected fault\./);
    }
    expect(azurite.requests.at(-1)).toMatchObject({ status: 503, error: "ServerBusy", fault: true });
    expect((await listContainers(bearer(good()))).status).toBe(200);
  });

  it("delayNext holds a request back; clearFaults drops what is queued", async () => {
    azurite.delayNext(300);
    const started = Date.now();
    expect((await listContainers(bearer(good()))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    azurite.failNext({ status: 500, count: Number.POSITIVE_INFINITY });
    azurite.clearFaults();
    expect((await listContainers(bearer(good()))).status).toBe(200);
  });

  it("closes the proxy and the process, idempotently, also through await using", async () => {
    let pid = 0;
    let accountUrl = "";
    {
      await using second = await startAzurite({ tls: { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath } });
      pid = second.pid;
      accountUrl = second.accountUrl;
      // Through its own proxy: anonymous listing is refused by Azurite itself.
      expect((await fetch(`${accountUrl}?comp=list`)).status).toBe(403);
      await second.close();
    }
    await expect(fetch(`${accountUrl}?comp=list`)).rejects.toThrow();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
