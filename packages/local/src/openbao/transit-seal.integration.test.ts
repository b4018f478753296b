import { InvalidOptionError } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "../tls.js";
import { startOpenBao } from "./openbao.js";

describe("startOpenBao with a transit seal", () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterAll(async () => {
    await pki?.cleanup();
  });

  it("auto-unseals through a transit key service over mTLS, again after a restart, and fails to start once the key service refuses", async () => {
    // The key service here is a second real OpenBao's transit engine behind an mTLS listener.
    await using target = await startOpenBao({ tls: { pki, requireClientCert: true } });
    await target.request({ method: "POST", path: "transit/keys/autounseal" });
    await target.request({
      method: "PUT",
      path: "sys/policies/acl/seal",
      body: { policy: 'path "transit/+/autounseal" { capabilities = ["update"] }' },
    });
    const created = await target.request({ method: "POST", path: "auth/token/create", body: { policies: ["seal"] } });
    const token = String((created.body?.auth as { client_token?: string } | undefined)?.client_token);

    await using bao = await startOpenBao({
      persistent: true,
      seal: {
        address: target.address,
        keyName: "autounseal",
        tlsCaCert: pki.caPath,
        tlsClientCert: pki.clientCertPath,
        tlsClientKey: pki.clientKeyPath,
        token,
      },
    });
    expect(await bao.sealStatus()).toEqual({ type: "transit", initialized: true, sealed: false });
    await bao.request({ method: "POST", path: "secret/data/kept", body: { data: { a: 1 } } });
    await expect(bao.unseal()).rejects.toThrow(/unseals itself when it starts/);

    await bao.stop();
    await bao.start();
    expect(await bao.sealStatus()).toMatchObject({ sealed: false });
    expect((await bao.request({ method: "GET", path: "secret/data/kept" })).body?.data).toMatchObject({
      data: { a: 1 },
    });

    await bao.stop();
    await target.request({ method: "POST", path: "auth/token/revoke", body: { token } });
    await expect(bao.start()).rejects.toThrow(/Error configuring seal "transit"[\s\S]*Code: 403/);
    expect(bao.running).toBe(false);
  });

  it("refuses unknown or malformed seal options naming the option path, before starting anything", async () => {
    const cases: [unknown, string][] = [
      [{ address: "https://127.0.0.1:1", keyName: "k", keyname: "k" }, "seal.keyname"],
      [{ keyName: "k" }, "seal.address"],
      [{ address: "ftp://127.0.0.1:1", keyName: "k" }, "seal.address"],
      [{ address: "https://127.0.0.1:1", keyName: "" }, "seal.keyName"],
      [{ address: "https://127.0.0.1:1", keyName: "k", tlsClientCert: "/c.pem" }, "seal.tlsClientKey"],
      [{ address: "https://127.0.0.1:1", keyName: "k", disableRenewal: "true" }, "seal.disableRenewal"],
      ["transit", "seal"],
    ];
    for (const [seal, option] of cases) {
      const attempt = startOpenBao({ seal } as never);
      await expect(attempt).rejects.toThrow(InvalidOptionError);
      await expect(attempt).rejects.toMatchObject({ option });
    }
  });
});
