// defaultTokenSource against real files in a temporary directory and a hand-shaped
// launcher on a temporary Unix socket; time comes from a manual clock.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CredentialUnavailableError } from "@confspace/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeLauncher, fakeJwt, ManualClock, missingPath, startFakeLauncher, until } from "../test/support.js";
import { type DefaultTokenSourceOptions, defaultTokenSource, TOKEN_FILE_ENV } from "./default-token-source.js";
import { InvalidTokenRequestError, TokenExpiredError, TokenFileError } from "./errors.js";
import { LAUNCHER_SOCKET_ENV } from "./launcher-client.js";

let dir: string;
let tokenFile: string;
let clock: ManualClock;
let server: FakeLauncher | undefined;
const sec = () => Math.floor(clock.now() / 1000);
const token = (lifetimeSeconds: number, tag = "a") =>
  fakeJwt({ aud: "https://sts.googleapis.com", exp: sec() + lifetimeSeconds, tag });

/** Writes the file the way the launcher does: a temp file renamed over the old one. */
function rotate(contents: string): void {
  const temp = `${tokenFile}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, tokenFile);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "confspace-dts-"));
  tokenFile = join(dir, "attestation_verifier_claims_token");
  clock = new ManualClock();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function source(extra: DefaultTokenSourceOptions = {}) {
  return defaultTokenSource({
    tokenFile,
    clock,
    fileRetryDelayMs: 0,
    launcher: { socketPath: server?.socketPath ?? missingPath("teeserver.sock"), requestsPerSecond: Infinity },
    ...extra,
  });
}

async function launcherServing(tokens: () => string): Promise<FakeLauncher> {
  server = await startFakeLauncher((_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end(tokens()));
  return server;
}

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

describe("defaultTokenSource: the token file", () => {
  it("returns the file's token", async () => {
    const t = token(3600);
    rotate(t);
    await expect(source().getToken()).resolves.toBe(t);
  });

  it("picks up a rotated file (rename) on the next call", async () => {
    const first = token(3600, "first");
    rotate(first);
    const s = source();
    await expect(s.getToken()).resolves.toBe(first);
    const second = token(3600, "second");
    rotate(second);
    await expect(s.getToken()).resolves.toBe(second);
  });

  it("picks up a same-size rewrite in place", async () => {
    const first = token(3600, "1");
    writeFileSync(tokenFile, first);
    const s = source();
    await expect(s.getToken()).resolves.toBe(first);
    const second = token(3600, "2");
    expect(second.length).toBe(first.length);
    await new Promise((resolve) => setTimeout(resolve, 5)); // let the file's mtime move on
    writeFileSync(tokenFile, second);
    await expect(s.getToken()).resolves.toBe(second);
  });

  it("accepts a trailing newline", async () => {
    const t = token(3600);
    rotate(`${t}\n`);
    await expect(source().getToken()).resolves.toBe(t);
  });

  it("uses CONFSPACE_TOKEN_FILE when no tokenFile is given", async () => {
    const t = token(3600);
    rotate(t);
    process.env[TOKEN_FILE_ENV] = tokenFile;
    try {
      const s = defaultTokenSource({ clock });
      expect(s.tokenFile).toBe(tokenFile);
      await expect(s.getToken()).resolves.toBe(t);
    } finally {
      delete process.env[TOKEN_FILE_ENV];
    }
  });

  const good = () => token(3600);
  it.each([
    ["empty", () => ""],
    ["only whitespace", () => "\n"],
    ["partly written (cut mid-payload)", () => good().slice(0, 30)],
    ["not a JWT", () => "not a token"],
    ["a JWT without exp", () => fakeJwt({ aud: "x" })],
    ["a JWT with a string exp", () => fakeJwt({ exp: "soon" })],
  ])("reports a file that is %s as ERR_TOKEN_FILE_INVALID and does not cache that", async (_name, contents) => {
    rotate(contents());
    const s = source({ fileReadAttempts: 2 });
    const error = await failure(s.getToken());
    expect(error).toBeInstanceOf(TokenFileError);
    expect(error).toMatchObject({ code: "ERR_TOKEN_FILE_INVALID", path: tokenFile });
    expect(error.message).toContain(TOKEN_FILE_ENV);
    const t = good();
    rotate(t);
    await expect(s.getToken()).resolves.toBe(t);
  });

  it("reads an invalid file again after fileRetryDelayMs and returns the token once it is complete", async () => {
    rotate("");
    const s = source({ fileRetryDelayMs: 100, fileReadAttempts: 3 });
    const pending = s.getToken();
    await until(() => clock.pendingTimers > 0);
    const t = token(3600);
    rotate(t);
    await clock.advance(100);
    await expect(pending).resolves.toBe(t);
  });

  it("never returns a file token inside the expiry skew; with no launcher it says the token expired", async () => {
    const t = token(3600);
    rotate(t);
    const s = source({ expirySkewMs: 30_000 });
    await expect(s.getToken()).resolves.toBe(t);
    await clock.advance(3600_000 - 30_000);
    const error = await failure(s.getToken());
    expect(error).toBeInstanceOf(TokenExpiredError);
    expect(error).toMatchObject({ code: "ERR_TOKEN_EXPIRED", expiresAt: (sec() + 30) * 1000 });
    expect(error.message).not.toContain(t.split(".")[1]);
  });

  it("asks the launcher when the file's token has expired", async () => {
    rotate(token(-10, "stale"));
    const fresh = token(3600, "fresh");
    const s = await launcherServing(() => fresh);
    await expect(source().getToken()).resolves.toBe(fresh);
    expect(s.requests).toMatchObject([{ method: "GET", url: "/v1/token" }]);
  });

  it("refuses nonces: the default token cannot carry them", async () => {
    rotate(token(3600));
    await expect(source().getToken({ nonces: ["0123456789"] })).rejects.toBeInstanceOf(InvalidTokenRequestError);
  });
});

describe("defaultTokenSource: the launcher fallback", () => {
  it("gets the token with GET /v1/token when there is no file, and caches it", async () => {
    const t = token(3600);
    const s = await launcherServing(() => t);
    const src = source();
    await expect(src.getToken()).resolves.toBe(t);
    await expect(src.getToken()).resolves.toBe(t);
    expect(s.requests).toHaveLength(1);
    src.dispose();
  });

  it("switches to the file once it appears", async () => {
    const fromSocket = token(3600, "socket");
    await launcherServing(() => fromSocket);
    const src = source();
    await expect(src.getToken()).resolves.toBe(fromSocket);
    const fromFile = token(3600, "file");
    rotate(fromFile);
    await expect(src.getToken()).resolves.toBe(fromFile);
    src.dispose();
  });

  it("refuses an expired token from the launcher", async () => {
    await launcherServing(() => token(-1));
    await expect(source().getToken()).rejects.toMatchObject({ code: "ERR_TOKEN_EXPIRED" });
  });

  it("with neither file nor socket, throws CredentialUnavailableError naming both paths and env vars", async () => {
    const socketPath = missingPath("teeserver.sock");
    const error = await failure(source({ launcher: { socketPath } }).getToken());
    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect(error).toMatchObject({ code: "ERR_ATTESTATION_UNAVAILABLE" });
    for (const part of [tokenFile, socketPath, TOKEN_FILE_ENV, LAUNCHER_SOCKET_ENV])
      expect(error.message).toContain(part);
  });

  it("looks again on the next call after finding neither (no backoff for 'not here')", async () => {
    const src = source();
    await expect(src.getToken()).rejects.toMatchObject({ code: "ERR_ATTESTATION_UNAVAILABLE" });
    const t = token(3600);
    rotate(t);
    await expect(src.getToken()).resolves.toBe(t);
  });

  it("rejects calls after dispose", async () => {
    rotate(token(3600));
    const src = source();
    src.dispose();
    await expect(src.getToken()).rejects.toMatchObject({ code: "ERR_DISPOSED" });
  });
});
