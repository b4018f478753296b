import { InvalidOptionError } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVaultFaultProxy } from "./fault-proxy.js";
import { type OpenBao, startOpenBao } from "./openbao.js";

let bao: OpenBao;
beforeAll(async () => {
  bao = await startOpenBao();
  await bao.request({ method: "POST", path: "secret/data/x", body: { data: { a: 1 } } });
});
afterAll(async () => {
  await bao?.close();
});

describe("startVaultFaultProxy", () => {
  it("forwards requests unchanged and records method, path, status and redacted headers", async () => {
    await using proxy = await startVaultFaultProxy({ target: bao.address });
    const health = await fetch(`${proxy.address}/v1/sys/health?standbyok=true`);
    expect(await health.json()).toMatchObject({ sealed: false });
    const denied = await fetch(`${proxy.address}/v1/secret/data/x`, {
      headers: { "x-vault-token": "s.not-a-real-token" },
    });
    expect(denied.status).toBe(403);
    expect(proxy.requests).toMatchObject([
      { method: "GET", path: "/v1/sys/health", status: 200, fault: false },
      { method: "GET", path: "/v1/secret/data/x", status: 403, fault: false },
    ]);
    expect(proxy.requests[1]!.headers["x-vault-token"]).toBe("[redacted]");
    expect(proxy.count("secret/data/", 403)).toBe(1);
  });

  it("answers queued faults in Vault's format (or a verbatim body) for matching paths only, then forwards again", async () => {
    await using proxy = await startVaultFaultProxy({ target: bao.address });
    proxy.failNext({ status: 500, message: "internal error", pathPrefix: "/v1/auth/token/renew-self", count: 2 });
    proxy.failNext({ status: 200, body: "{not json", pathPrefix: "/v1/sys/health" });
    const renew = () => fetch(`${proxy.address}/v1/auth/token/renew-self`, { method: "POST" });
    const first = await renew();
    expect(first.status).toBe(500);
    expect(await first.json()).toEqual({ errors: ["internal error"] });
    expect((await renew()).status).toBe(500);
    expect((await renew()).status).toBe(403); // OpenBao's own answer: no token
    expect(await (await fetch(`${proxy.address}/v1/sys/health`)).text()).toBe("{not json");
    expect(proxy.requests.map((r) => [r.status, r.fault])).toEqual([
      [500, true],
      [500, true],
      [403, false],
      [200, true],
    ]);
  });

  it("delays the next request, clears faults, and refuses unknown fault options", async () => {
    await using proxy = await startVaultFaultProxy({ target: bao.address });
    proxy.delayNext(300);
    const started = Date.now();
    await fetch(`${proxy.address}/v1/sys/health`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    proxy.failNext({ status: 503, count: Number.POSITIVE_INFINITY });
    proxy.clearFaults();
    expect((await fetch(`${proxy.address}/v1/sys/health`)).status).toBe(200);
    expect(() => proxy.failNext({ status: 503, errors: ["x"] } as never)).toThrow(InvalidOptionError);
  });

  it("resets the client's connection while the server is down (status 0)", async () => {
    const down = await startOpenBao();
    await using proxy = await startVaultFaultProxy({ target: down.address });
    await down.close();
    await expect(fetch(`${proxy.address}/v1/sys/health`)).rejects.toThrow();
    expect(proxy.requests).toMatchObject([{ path: "/v1/sys/health", status: 0, fault: false }]);
  });
});
