// LauncherClient against a hand-shaped server on a temporary Unix socket: reply shapes
// the emulator cannot produce (oversized, truncated, non-JWT bodies, dropped connections).
import { writeFileSync } from "node:fs";
import { CredentialUnavailableError } from "@confspace/core";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeLauncher, fakeJwt, missingPath, recordingClock, startFakeLauncher } from "../test/support.js";
import { InvalidTokenRequestError, LauncherError, LauncherUnavailableError } from "./errors.js";
import { LAUNCHER_SOCKET_ENV, LauncherClient, type LauncherClientOptions } from "./launcher-client.js";

const TOKEN = fakeJwt({ exp: 4_000_000_000, aud: "https://a.example" });
const FAST: LauncherClientOptions = { retry: { initialDelayMs: 1, maxDelayMs: 2 }, requestsPerSecond: Infinity };

let server: FakeLauncher | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function launcher(replies: Array<(res: import("node:http").ServerResponse) => void>): Promise<FakeLauncher> {
  let i = 0;
  server = await startFakeLauncher((_req, res) => {
    const reply = replies[Math.min(i++, replies.length - 1)];
    reply?.(res);
  });
  return server;
}
const text = (status: number, body: string) => (res: import("node:http").ServerResponse) => {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(body);
};
const ok = text(200, TOKEN);

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

describe("LauncherClient requests", () => {
  it("GETs /v1/token with Host localhost and no body for the default token", async () => {
    const s = await launcher([ok]);
    await expect(new LauncherClient({ socketPath: s.socketPath }).defaultToken()).resolves.toBe(TOKEN);
    expect(s.requests).toMatchObject([{ method: "GET", url: "/v1/token", body: "", headers: { host: "localhost" } }]);
  });

  it("POSTs the launcher's JSON for a custom token", async () => {
    const s = await launcher([ok]);
    const client = new LauncherClient({ socketPath: s.socketPath });
    await client.requestToken({ audience: "https://a.example", nonces: ["0123456789"], tokenType: "PKI" });
    expect(s.requests[0]?.method).toBe("POST");
    expect(s.requests[0]?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(s.requests[0]?.body ?? "")).toEqual({
      audience: "https://a.example",
      nonces: ["0123456789"],
      token_type: "PKI",
    });
  });

  it("sends nothing when the request is invalid", async () => {
    const s = await launcher([ok]);
    const client = new LauncherClient({ socketPath: s.socketPath });
    await expect(client.requestToken({ audience: "https://sts.googleapis.com" })).rejects.toBeInstanceOf(
      InvalidTokenRequestError,
    );
    expect(s.requests).toHaveLength(0);
  });

  it("uses CONFSPACE_LAUNCHER_SOCKET when no socketPath is given", async () => {
    const s = await launcher([ok]);
    process.env[LAUNCHER_SOCKET_ENV] = s.socketPath;
    try {
      const client = new LauncherClient();
      expect(client.socketPath).toBe(s.socketPath);
      await expect(client.defaultToken()).resolves.toBe(TOKEN);
    } finally {
      delete process.env[LAUNCHER_SOCKET_ENV];
    }
  });

  it("defaults to the launcher's standard socket", () => {
    expect(new LauncherClient().socketPath).toBe("/run/container_launcher/teeserver.sock");
  });
});

describe("LauncherClient replies", () => {
  it("keeps a 400's status and text, caps long texts, and does not retry", async () => {
    const s = await launcher([text(400, `failed to retrieve custom attestation service token: ${"x".repeat(2000)}`)]);
    const error = await failure(new LauncherClient({ ...FAST, socketPath: s.socketPath }).defaultToken());
    expect(error).toBeInstanceOf(LauncherError);
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_REQUEST", status: 400 });
    expect(error.launcherMessage).toMatch(/^failed to retrieve custom attestation service token: x+…$/);
    expect((error.launcherMessage as string).length).toBe(513);
    expect(s.requests).toHaveLength(1);
  });

  it("retries a 5xx with growing jittered delays, then reports the last status", async () => {
    const s = await launcher([text(500, "boom")]);
    const delays: number[] = [];
    const recording = recordingClock(delays);
    const client = new LauncherClient({
      socketPath: s.socketPath,
      requestsPerSecond: Infinity,
      retry: { maxAttempts: 4, initialDelayMs: 8, maxDelayMs: 20 },
      random: () => 0.5,
      clock: recording,
    });
    const error = await failure(client.defaultToken());
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_REQUEST", status: 500, launcherMessage: "boom" });
    expect(s.requests).toHaveLength(4);
    // ceilings 8, 16, 20 (capped); half fixed, half random (0.5) → 6, 12, 15
    expect(delays).toEqual([6, 12, 15]);
  });

  it("succeeds after a transient 503", async () => {
    const s = await launcher([text(503, "busy"), ok]);
    await expect(new LauncherClient({ ...FAST, socketPath: s.socketPath }).defaultToken()).resolves.toBe(TOKEN);
    expect(s.requests).toHaveLength(2);
  });

  it("retries a connection dropped before the reply", async () => {
    const s = await launcher([(res) => res.socket?.destroy(), ok]);
    await expect(new LauncherClient({ ...FAST, socketPath: s.socketPath }).defaultToken()).resolves.toBe(TOKEN);
    expect(s.requests).toHaveLength(2);
  });

  it("rejects a reply larger than maxTokenBytes without quoting it", async () => {
    const big = fakeJwt({ pad: "p".repeat(5000) });
    const s = await launcher([text(200, big)]);
    const error = await failure(
      new LauncherClient({ ...FAST, socketPath: s.socketPath, maxTokenBytes: 1024 }).defaultToken(),
    );
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_RESPONSE" });
    expect(error.message).not.toContain(big.slice(0, 40));
  });

  it.each([
    ["an HTML page", "<html>hello</html>"],
    ["two parts", TOKEN.split(".").slice(0, 2).join(".")],
    ["an empty body", ""],
  ])("rejects a 200 with %s as ERR_LAUNCHER_RESPONSE", async (_name, body) => {
    const s = await launcher([text(200, body)]);
    const error = await failure(new LauncherClient({ ...FAST, socketPath: s.socketPath }).defaultToken());
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_RESPONSE", status: 200 });
  });

  it("never writes the token into a log line", async () => {
    const s = await launcher([text(503, `retry later ${TOKEN}`), ok]);
    const lines: string[] = [];
    const log = (m: string, f?: object) => lines.push(`${m} ${JSON.stringify(f)}`);
    const client = new LauncherClient({
      ...FAST,
      socketPath: s.socketPath,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    await expect(client.defaultToken()).resolves.toBe(TOKEN);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(TOKEN.split(".")[1]);
  });

  it("redacts a token-looking string in the launcher's error text", async () => {
    const s = await launcher([text(400, `bad: ${TOKEN}`)]);
    const error = await failure(new LauncherClient({ ...FAST, socketPath: s.socketPath }).defaultToken());
    expect(error.message).not.toContain(TOKEN.split(".")[1]);
    expect(error.launcherMessage).toBe("bad: [REDACTED]");
  });
});

describe("LauncherClient time and connection failures", () => {
  it("times out a silent launcher after timeoutMs, without retrying", async () => {
    const s = await launcher([() => {}]);
    const started = Date.now();
    const error = await failure(
      new LauncherClient({ ...FAST, socketPath: s.socketPath, timeoutMs: 100 }).defaultToken(),
    );
    expect(error).toBeInstanceOf(LauncherError);
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(s.requests).toHaveLength(1);
  });

  it("rejects with the signal's reason when aborted mid-request", async () => {
    const s = await launcher([() => {}]);
    const controller = new AbortController();
    const pending = new LauncherClient({ ...FAST, socketPath: s.socketPath }).defaultToken({
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("caller gave up")), 20);
    await expect(pending).rejects.toThrow("caller gave up");
  });

  it("reports a missing socket as LauncherUnavailableError (a CredentialUnavailableError) at once", async () => {
    const socketPath = missingPath("teeserver.sock");
    const error = await failure(new LauncherClient({ socketPath }).defaultToken());
    expect(error).toBeInstanceOf(LauncherUnavailableError);
    expect(error).toBeInstanceOf(CredentialUnavailableError);
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_UNAVAILABLE", socketPath });
    expect(error.message).toContain(socketPath);
    expect(error.message).toContain(LAUNCHER_SOCKET_ENV);
  });

  it("retries a refused connection, then reports the launcher unavailable", async () => {
    const socketPath = missingPath("teeserver.sock");
    writeFileSync(socketPath, ""); // a path that exists but accepts no connection: ECONNREFUSED
    const delays: number[] = [];
    const clock = recordingClock(delays);
    const error = await failure(new LauncherClient({ ...FAST, socketPath, clock }).defaultToken());
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_UNAVAILABLE" });
    expect(delays).toHaveLength(2);
  });
});
