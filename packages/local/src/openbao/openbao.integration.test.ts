import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "../tls.js";
import { findServerBinary } from "./internal/binary.js";
import { startOpenBao } from "./openbao.js";

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });

describe("startOpenBao", () => {
  it("starts an unsealed server on a free loopback port with KV v2, transit and JWT auth, and stops it on dispose", async () => {
    let port: number;
    {
      await using bao = await startOpenBao();
      port = bao.port;
      expect(bao.address).toBe(`http://127.0.0.1:${port}`);
      expect(bao.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(bao.running).toBe(true);
      const health = await fetch(`${bao.address}/v1/sys/health`);
      expect(await health.json()).toMatchObject({ initialized: true, sealed: false, standby: false });
      const mounts = await bao.request({ method: "GET", path: "sys/mounts" });
      expect(mounts.body?.["secret/"]).toMatchObject({ type: "kv", options: { version: "2" } });
      expect(mounts.body?.["transit/"]).toMatchObject({ type: "transit" });
      const auth = await bao.request({ method: "GET", path: "sys/auth" });
      expect(auth.body?.["jwt/"]).toMatchObject({ type: "jwt" });
    }
    expect(await refused(port)).toBe("ECONNREFUSED");
  });

  it("throws naming the status and OpenBao's errors, unless the status is accepted; never hands out the root token", async () => {
    await using bao = await startOpenBao();
    await expect(bao.request({ method: "GET", path: "secret/data/none" })).rejects.toThrow(
      /GET secret\/data\/none: 404/,
    );
    expect((await bao.request({ method: "GET", path: "secret/data/none", accept: [404] })).status).toBe(404);
    const anonymous = await fetch(`${bao.address}/v1/secret/data/none`);
    expect(anonymous.status).toBe(403);
    expect(Object.values(bao).some((v) => typeof v === "string" && /^s\.|^hvs\./.test(v))).toBe(false);
  });

  it("seals (503 Vault is sealed) and unseals with its one key share, keeping its data", async () => {
    await using bao = await startOpenBao();
    await bao.request({ method: "POST", path: "secret/data/kept", body: { data: { a: 1 } } });
    await bao.seal();
    const sealed = await bao.request({ method: "GET", path: "secret/data/kept", accept: [503] });
    expect(sealed).toMatchObject({ status: 503, body: { errors: ["Vault is sealed"] } });
    await bao.unseal();
    expect((await bao.request({ method: "GET", path: "secret/data/kept" })).body?.data).toMatchObject({
      data: { a: 1 },
    });
  });

  it("persistent: stop() closes the port, start() brings it back on the same port with its data", async () => {
    await using bao = await startOpenBao({ persistent: true });
    await bao.request({ method: "POST", path: "secret/data/kept", body: { data: { a: 1 } } });
    const port = bao.port;
    await bao.stop();
    expect(bao.running).toBe(false);
    expect(await refused(port)).toBe("ECONNREFUSED");
    await bao.start();
    expect(bao.port).toBe(port);
    expect((await bao.request({ method: "GET", path: "secret/data/kept" })).body?.data).toMatchObject({
      data: { a: 1 },
    });
  });

  it("refuses start() again for in-memory storage and unknown options", async () => {
    await using bao = await startOpenBao();
    await bao.stop();
    await expect(bao.start()).rejects.toThrow(/persistent: true/);
    await expect(startOpenBao({ dev: true } as never)).rejects.toThrow(/unknown option dev/);
  });
});

describe("startOpenBao with TLS", () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterAll(async () => {
    await pki?.cleanup();
  });

  it("serves HTTPS with the test PKI and, with requireClientCert, refuses a client without a certificate", async () => {
    await using bao = await startOpenBao({ tls: { pki, requireClientCert: true } });
    expect(bao.address).toBe(`https://127.0.0.1:${bao.port}`);
    expect((await bao.request({ method: "GET", path: "sys/auth" })).body?.["jwt/"]).toBeDefined();
    const { request } = await import("node:https");
    const outcome = await new Promise<string>((resolve) => {
      const req = request(`${bao.address}/v1/sys/health`, { ca: pki.caPem }, (res) => resolve(String(res.statusCode)));
      req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
    expect(outcome).not.toBe("200");
  });
});

describe("findServerBinary", () => {
  it("prefers BAO_BIN, then VAULT_BIN, then the repository's .tools/bin/bao", () => {
    const local = findServerBinary({});
    expect(local).toMatchObject({ from: ".tools/bin/bao", vault: false });
    expect(findServerBinary({ BAO_BIN: local.path, VAULT_BIN: "/nonexistent" })).toMatchObject({ from: "BAO_BIN" });
    expect(findServerBinary({ VAULT_BIN: local.path })).toMatchObject({ from: "VAULT_BIN", vault: true });
  });

  it("never skips: a missing binary is an error that says how to install one", () => {
    expect(() => findServerBinary({ BAO_BIN: "/nonexistent/bao" })).toThrow(/BAO_BIN is set to \/nonexistent\/bao/);
    expect(() => findServerBinary({}, "/nonexistent-repo")).toThrow(/BAO_BIN.*VAULT_BIN.*PATH.*scripts\/tools.sh/);
  });

  it("falls back to bao, then vault, on PATH when there is no .tools/bin/bao", () => {
    const dir = mkdtempSync(join(tmpdir(), "confspace-bin-"));
    try {
      writeFileSync(join(dir, "vault"), "#!/bin/sh\n", { mode: 0o755 });
      expect(findServerBinary({ PATH: `/nonexistent:${dir}` }, [])).toEqual({
        path: join(dir, "vault"),
        from: "PATH",
        vault: true,
      });
      writeFileSync(join(dir, "bao"), "#!/bin/sh\n", { mode: 0o755 });
      expect(findServerBinary({ PATH: dir }, [])).toMatchObject({ path: join(dir, "bao"), vault: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
