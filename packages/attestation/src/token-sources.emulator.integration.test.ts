// defaultTokenSource and customTokenSource against the emulator: its token file and its
// launcher socket, with a manual clock shared by the emulator and the sources where time matters.
import { writeFileSync } from "node:fs";
import { CredentialUnavailableError } from "@confspace/core";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { failure, ManualClock, missingPath, payloadOf, requestCounter } from "../test/support.js";
import { customTokenSource } from "./custom-token-source.js";
import { decodeClaims } from "./decode-claims.js";
import { defaultTokenSource } from "./default-token-source.js";
import { TokenFileError } from "./errors.js";

const requests = requestCounter();
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ logger: requests.logger });
});
afterAll(() => emu.stop());
afterEach(async () => {
  await emu.refreshTokenFile();
  requests.reset();
});
const launcher = () => ({ socketPath: emu.socketPath, requestsPerSecond: Number.POSITIVE_INFINITY });

describe("defaultTokenSource with the emulator", () => {
  it("returns the token file's default token without touching the socket", async () => {
    const token = await defaultTokenSource({ tokenFile: emu.tokenFile, launcher: launcher() }).getToken();
    expect(decodeClaims(token)).toMatchObject({ aud: "https://sts.googleapis.com", iss: emu.issuer });
    expect(requests.count).toBe(0);
  });

  it("picks up the launcher's atomic rewrite of the file", async () => {
    const source = defaultTokenSource({ tokenFile: emu.tokenFile, launcher: launcher() });
    const first = await source.getToken();
    await expect(source.getToken()).resolves.toBe(first);
    await emu.refreshTokenFile();
    const second = await source.getToken();
    expect(second).not.toBe(first);
    expect(decodeClaims(second).jti).not.toBe(decodeClaims(first).jti);
  });

  it.each([
    ["empty", () => ""],
    ["partly written", (good: string) => good.slice(0, Math.floor(good.length / 2))],
    ["cut inside the signature", (good: string) => good.slice(0, good.lastIndexOf(".") + 1)],
    ["not a JWT", () => "<html>not a token</html>"],
  ])("reports a %s file as ERR_TOKEN_FILE_INVALID, then serves the rewritten file", async (_name, damage) => {
    const source = defaultTokenSource({ tokenFile: emu.tokenFile, launcher: launcher(), fileRetryDelayMs: 0 });
    const good = await source.getToken();
    writeFileSync(emu.tokenFile, damage(good));
    const error = await failure(source.getToken());
    expect(error).toBeInstanceOf(TokenFileError);
    expect(error).toMatchObject({ code: "ERR_TOKEN_FILE_INVALID" });
    expect(error.message).not.toContain(good.split(".")[1]);
    await emu.refreshTokenFile();
    const next = await source.getToken();
    expect(next).not.toBe(good);
    expect(decodeClaims(next).aud).toBe("https://sts.googleapis.com");
  });
});

describe("defaultTokenSource with the emulator's socket only", () => {
  let socketOnly: Emulator;
  const counted = requestCounter();
  beforeAll(async () => {
    socketOnly = await startEmulator({ writeTokenFile: false, logger: counted.logger });
  });
  afterAll(() => socketOnly.stop());

  it("falls back to GET /v1/token when there is no file, and caches that token", async () => {
    const source = defaultTokenSource({
      tokenFile: socketOnly.tokenFile,
      launcher: { socketPath: socketOnly.socketPath },
    });
    const token = await source.getToken();
    expect(decodeClaims(token).aud).toBe("https://sts.googleapis.com");
    await expect(source.getToken()).resolves.toBe(token);
    expect(counted.count).toBe(1);
    source.dispose();
  });

  it("reports neither file nor socket once the emulator is gone", async () => {
    const gone = await startEmulator({ writeTokenFile: false });
    const { tokenFile, socketPath } = gone;
    await gone.stop();
    const error = await failure(defaultTokenSource({ tokenFile, launcher: { socketPath } }).getToken());
    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect(error).toMatchObject({ code: "ERR_ATTESTATION_UNAVAILABLE" });
  });
});

describe("token expiry with the emulator (manual clock)", () => {
  const clock = new ManualClock();
  let timed: Emulator;
  beforeAll(async () => {
    timed = await startEmulator({ tokenLifetimeSeconds: 600, now: () => clock.now() });
  });
  afterAll(() => timed.stop());

  it("never returns the file's token inside the skew: a fresh one comes from the socket", async () => {
    const source = defaultTokenSource({
      tokenFile: timed.tokenFile,
      launcher: { socketPath: timed.socketPath },
      clock,
    });
    const fromFile = await source.getToken();
    const exp = decodeClaims(fromFile).exp * 1000;
    await clock.advance(exp - clock.now() - 10_000); // 10 s left, inside the 30 s skew
    const next = await source.getToken();
    expect(next).not.toBe(fromFile);
    expect(decodeClaims(next).exp * 1000).toBeGreaterThan(clock.now() + 30_000);
    source.dispose();
  });

  it("never returns the file's token once expired when no launcher is reachable", async () => {
    await timed.refreshTokenFile();
    const source = defaultTokenSource({
      tokenFile: timed.tokenFile,
      launcher: { socketPath: missingPath("teeserver.sock") },
      clock,
    });
    const token = await source.getToken();
    await clock.advance(decodeClaims(token).exp * 1000 - clock.now() + 1);
    await expect(source.getToken()).rejects.toMatchObject({ code: "ERR_TOKEN_EXPIRED" });
  });

  it("replaces a cached custom token before it expires", async () => {
    const source = customTokenSource({
      audience: "https://a.example",
      launcher: { socketPath: timed.socketPath },
      clock,
    });
    const first = await source.getToken();
    await clock.advance(decodeClaims(first).exp * 1000 - clock.now() + 1);
    const second = await source.getToken();
    expect(second).not.toBe(first);
    expect(decodeClaims(second).exp * 1000).toBeGreaterThan(clock.now());
    source.dispose();
  });
});

describe("customTokenSource with the emulator", () => {
  it("caches a token without nonces: one launcher request for several calls", async () => {
    const source = customTokenSource({ audience: "https://vault.example", launcher: launcher() });
    const [a, b] = await Promise.all([source.getToken(), source.getToken()]);
    await expect(source.getToken()).resolves.toBe(a);
    expect(b).toBe(a);
    expect(requests.count).toBe(1);
    source.dispose();
  });

  it("never caches a token with nonces: every call is a new request bound to its nonce", async () => {
    const source = customTokenSource({ audience: "https://broker.example", launcher: launcher() });
    const a = await source.getToken({ nonces: ["nonce-aaaaaaaaaa"] });
    const b = await source.getToken({ nonces: ["nonce-aaaaaaaaaa"] });
    const c = await source.getToken({ nonces: ["nonce-bbbbbbbbbb"] });
    expect(new Set([a, b, c]).size).toBe(3);
    expect(payloadOf(a).eat_nonce).toBe("nonce-aaaaaaaaaa");
    expect(payloadOf(c).eat_nonce).toBe("nonce-bbbbbbbbbb");
    const plain = await source.getToken();
    expect(payloadOf(plain).eat_nonce).toBeUndefined();
    expect(requests.count).toBe(4);
    source.dispose();
  });

  it.each([
    ["PKI", {}],
    ["AWS_PRINCIPALTAGS", { awsPrincipalTagKeyIds: ["key-1"] }],
    ["LIMITED_AWS", {}],
  ] as const)("serves %s tokens", async (tokenType, extra) => {
    const source = customTokenSource({ audience: "https://a.example", tokenType, ...extra, launcher: launcher() });
    const token = await source.getToken();
    expect(decodeClaims(token).aud).toBe("https://a.example");
    source.dispose();
  });
});
