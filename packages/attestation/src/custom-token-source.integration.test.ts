// customTokenSource against a hand-shaped launcher on a temporary Unix socket, with a
// manual clock for expiry and refresh-ahead.
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLauncher, fakeJwt, ManualClock, startFakeLauncher, until } from "../test/support.js";
import { customTokenSource } from "./custom-token-source.js";
import { InvalidTokenRequestError } from "./errors.js";
import { LauncherClient } from "./launcher-client.js";

let server: FakeLauncher | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A launcher minting a distinct token per request, expiring `lifetimeSeconds` after the clock's now. */
async function minting(clock: ManualClock, lifetimeSeconds = 3600): Promise<FakeLauncher> {
  let n = 0;
  server = await startFakeLauncher((req, res) => {
    const body = JSON.parse(req.body || "{}") as Record<string, unknown>;
    const claims = { ...body, n: n++, exp: Math.floor(clock.now() / 1000) + lifetimeSeconds };
    res.writeHead(200, { "Content-Type": "text/html" }).end(fakeJwt(claims));
  });
  return server;
}
const payload = (token: string) => JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());

describe("customTokenSource", () => {
  it("validates the request when created, naming the field", () => {
    expect(() => customTokenSource({ audience: "https://sts.googleapis.com" })).toThrow(InvalidTokenRequestError);
    expect(() => customTokenSource({ audience: "https://a.example", awsPrincipalTagKeyIds: ["k"] })).toThrow(
      /awsPrincipalTagKeyIds/,
    );
  });

  it("shares one launcher request among concurrent callers and caches the token", async () => {
    const clock = new ManualClock();
    const s = await minting(clock);
    const src = customTokenSource({ audience: "https://a.example", clock, launcher: { socketPath: s.socketPath } });
    const [a, b] = await Promise.all([src.getToken(), src.getToken()]);
    expect(a).toBe(b);
    await expect(src.getToken()).resolves.toBe(a);
    expect(s.requests).toHaveLength(1);
    expect(payload(a)).toMatchObject({ audience: "https://a.example", token_type: "OIDC" });
    src.dispose();
  });

  it("never caches or shares a token with nonces", async () => {
    const clock = new ManualClock();
    const s = await minting(clock);
    const src = customTokenSource({ audience: "https://a.example", clock, launcher: { socketPath: s.socketPath } });
    const nonce = "nonce-0123456789";
    const [a, b] = await Promise.all([src.getToken({ nonces: [nonce] }), src.getToken({ nonces: [nonce] })]);
    const c = await src.getToken({ nonces: [nonce] });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(payload(a).nonces).toEqual([nonce]);
    const plain = await src.getToken();
    expect(payload(plain).nonces).toBeUndefined();
    expect(s.requests).toHaveLength(4);
    src.dispose();
  });

  it("validates per-call nonces before sending", async () => {
    const clock = new ManualClock();
    const s = await minting(clock);
    const src = customTokenSource({ audience: "https://a.example", clock, launcher: { socketPath: s.socketPath } });
    await expect(src.getToken({ nonces: ["short"] })).rejects.toMatchObject({ field: "nonces[0]" });
    expect(s.requests).toHaveLength(0);
    src.dispose();
  });

  it("refreshes ahead of exp and never serves an expired token", async () => {
    const clock = new ManualClock();
    const s = await minting(clock, 600);
    const src = customTokenSource({
      audience: "https://a.example",
      clock,
      refreshWindowMs: 120_000,
      launcher: { socketPath: s.socketPath, requestsPerSecond: Infinity },
    });
    const first = await src.getToken();
    await clock.advance(600_000 - 120_000); // into the refresh window: background refresh starts
    await until(() => s.requests.length === 2);
    await clock.advance(0);
    const second = await src.getToken();
    expect(second).not.toBe(first);
    expect(payload(second).exp * 1000).toBeGreaterThan(clock.now());
    src.dispose();
  });

  it("forceRefresh gets a new token", async () => {
    const clock = new ManualClock();
    const s = await minting(clock);
    const src = customTokenSource({ audience: "https://a.example", clock, launcher: { socketPath: s.socketPath } });
    const first = await src.getToken();
    await expect(src.getToken({ forceRefresh: true })).resolves.not.toBe(first);
    expect(s.requests).toHaveLength(2);
    src.dispose();
  });

  it("refuses a nonce token that is already expired", async () => {
    const clock = new ManualClock();
    const s = await minting(clock, -5);
    const src = customTokenSource({ audience: "https://a.example", clock, launcher: { socketPath: s.socketPath } });
    await expect(src.getToken({ nonces: ["0123456789"] })).rejects.toMatchObject({ code: "ERR_TOKEN_EXPIRED" });
    src.dispose();
  });

  it("uses a LauncherClient passed in as is", async () => {
    const clock = new ManualClock();
    const s = await minting(clock);
    const launcher = new LauncherClient({ socketPath: s.socketPath, clock });
    const src = customTokenSource({ audience: "https://a.example", clock, launcher });
    expect(src.launcher).toBe(launcher);
    await src.getToken();
    expect(s.requests).toHaveLength(1);
    src.dispose();
  });

  it("rejects calls after dispose, with and without nonces", async () => {
    const src = customTokenSource({ audience: "https://a.example" });
    src.dispose();
    await expect(src.getToken()).rejects.toMatchObject({ code: "ERR_DISPOSED" });
    await expect(src.getToken({ nonces: ["0123456789"] })).rejects.toMatchObject({ code: "ERR_DISPOSED" });
  });
});
