// Test helpers for @confspace/attestation: unsigned JWTs, a manual clock, and a tiny
// HTTP server on a temporary Unix socket for shaping single launcher replies.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Clock, systemClock } from "@confspace/core";
import { afterAll } from "vitest";

/** A structurally valid, unsigned JWT with these claims (signature bytes are filler). */
export function fakeJwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: "RS256" }): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part(header)}.${part(claims)}.${Buffer.from("signature").toString("base64url")}`;
}

// The repository's one manual clock (with `flush`), shared with core's tests.
export { flush, ManualClock } from "@confspace/testing";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeLauncher {
  socketPath: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTP server on a fresh temporary Unix socket, answering with `handler`. */
export async function startFakeLauncher(
  handler: (request: RecordedRequest, res: ServerResponse) => void,
): Promise<FakeLauncher> {
  const dir = mkdtempSync(join(tmpdir(), "confspace-att-"));
  const socketPath = join(dir, "teeserver.sock");
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let scratch: string | undefined;

// Imported during a test file's collection, so this hook belongs to that file.
afterAll(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** One temporary directory per test file, removed after the file's tests. */
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), "confspace-att-"));
  return scratch;
}

/** A path in a fresh temporary directory where nothing exists (removed after the test file). */
export function missingPath(name = "absent"): string {
  return join(mkdtempSync(join(scratchDir(), "missing-")), name);
}

/** The system clock, recording every timer delay shorter than `below` ms (backoff, not deadlines). */
export function recordingClock(delays: number[], below = 1000): Clock {
  return {
    now: () => systemClock.now(),
    setTimeout(callback, ms) {
      if (ms < below) delays.push(ms);
      return systemClock.setTimeout(callback, ms);
    },
    clearTimeout: (handle) => systemClock.clearTimeout(handle),
  };
}

/** Polls `condition` on real time until it holds (or fails the test after `timeoutMs`). */
export async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A logger counting the emulator's launcher requests (it logs one debug line per request). */
export function requestCounter(): { logger: import("@confspace/core").Logger; readonly count: number; reset(): void } {
  let count = 0;
  const noop = () => {};
  return {
    logger: {
      debug: (message: string) => {
        if (message === "launcher emulator: request") count++;
      },
      info: noop,
      warn: noop,
      error: noop,
    },
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}

/** The payload of a JWT, decoded without any check (tests only). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** The protected header of a JWT, decoded without any check (tests only). */
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8"));
}

/** The rejection of `promise`; fails the test if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}
