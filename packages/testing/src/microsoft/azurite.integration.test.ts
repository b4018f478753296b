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
    await azurite?.stop();
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

  it("stops the process, idempotently", async () => {
    const second = await startAzurite({ tls: { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath } });
    await second.stop();
    await expect(fetch(`${second.accountUrl}?comp=list`)).rejects.toThrow();
    expect(() => process.kill(second.pid, 0)).toThrow();
    await second.stop();
  });
});
