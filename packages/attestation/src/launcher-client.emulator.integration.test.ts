// LauncherClient against the emulator over a real Unix socket: every token type, every
// validation error, the launcher's error texts, timeouts, retries and the quota.
import { type Emulator, startEmulator } from "@confspace/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { failure, headerOf, ManualClock, payloadOf, requestCounter } from "../test/support.js";
import { INVALID_REQUESTS, VALID_REQUEST } from "../test/validation-cases.js";
import { decodeClaims } from "./decode-claims.js";
import { InvalidTokenRequestError, LauncherError } from "./errors.js";
import { LauncherClient, type LauncherClientOptions } from "./launcher-client.js";
import type { TokenRequest } from "./token-request.js";

const requests = requestCounter();
let emu: Emulator;
const FAST: LauncherClientOptions = { retry: { initialDelayMs: 1, maxDelayMs: 4 }, requestsPerSecond: Infinity };
const client = (options: LauncherClientOptions = {}) =>
  new LauncherClient({ ...FAST, socketPath: emu.socketPath, ...options });

beforeAll(async () => {
  const signature = (key_id: string) => ({ key_id, signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" });
  emu = await startEmulator({
    writeTokenFile: false,
    logger: requests.logger,
    profile: { submods: { container: { image_signatures: [signature("key-1"), signature("key-3")] } } },
  });
});
afterAll(() => emu.stop());
afterEach(() => {
  emu.clearFaults();
  requests.reset();
});

describe("LauncherClient with the emulator: tokens", () => {
  it("gets a fresh default token with GET", async () => {
    const token = await client().defaultToken();
    expect(decodeClaims(token)).toMatchObject({ aud: "https://sts.googleapis.com", iss: emu.issuer });
    expect(requests.count).toBe(1);
  });

  it("gets an OIDC token for the audience, with one nonce as a string", async () => {
    const token = await client().requestToken({ audience: "https://a.example", nonces: ["nonce-0123456789"] });
    expect(headerOf(token)).toMatchObject({ alg: "RS256" });
    expect(headerOf(token).kid).toEqual(expect.any(String));
    expect(decodeClaims(token)).toMatchObject({ aud: "https://a.example", eat_nonce: "nonce-0123456789" });
  });

  it("gets a PKI token carrying an x5c chain of three", async () => {
    const token = await client().requestToken({ audience: "https://a.example", tokenType: "PKI" });
    expect(headerOf(token).x5c).toHaveLength(3);
  });

  it("gets an AWS_PRINCIPALTAGS token with principal tags for the given key IDs", async () => {
    const token = await client().requestToken({
      audience: "https://sts.amazonaws.com",
      tokenType: "AWS_PRINCIPALTAGS",
      awsPrincipalTagKeyIds: ["key-1", "key-2"],
    });
    const tags = payloadOf(token)["https://aws.amazon.com/tags"] as { principal_tags: Record<string, string[]> };
    // The service tags only requested key IDs that signed the image: key-1, not key-2 or key-3.
    expect(tags.principal_tags["container.signatures.key_ids"]).toEqual(["key-1"]);
  });

  it("gets a LIMITED_AWS token with principal tags", async () => {
    const token = await client().requestToken({ audience: "https://sts.amazonaws.com", tokenType: "LIMITED_AWS" });
    expect(payloadOf(token)["https://aws.amazon.com/tags"]).toEqual(expect.any(Object));
  });

  it("passes several nonces, which come back as an array", async () => {
    const nonces = ["nonce-0123456789", "nonce-abcdefghij"];
    const token = await client().requestToken({ audience: "https://a.example", nonces });
    expect(decodeClaims(token).eat_nonce).toEqual(nonces);
  });
});

describe("LauncherClient with the emulator: validation before sending", () => {
  it("sends the known-good request and the launcher accepts it", async () => {
    await expect(client().requestToken(VALID_REQUEST)).resolves.toEqual(expect.any(String));
    expect(requests.count).toBe(1);
  });

  it.each(INVALID_REQUESTS)("refuses $name naming $field, without calling the launcher", async ({ mutate, field }) => {
    const error = await failure(client().requestToken(mutate({ ...VALID_REQUEST }) as TokenRequest));
    expect(error).toBeInstanceOf(InvalidTokenRequestError);
    expect(error).toMatchObject({ code: "ERR_INVALID_TOKEN_REQUEST", field });
    expect(requests.count).toBe(0);
  });
});

describe("LauncherClient with the emulator: failures", () => {
  it("keeps a 400's text and status and does not retry it", async () => {
    emu.failNext({ status: 400, body: "token_type is a required parameter", count: 2 });
    const error = await failure(client().requestToken({ audience: "https://a.example" }));
    expect(error).toBeInstanceOf(LauncherError);
    expect(error).toMatchObject({
      code: "ERR_LAUNCHER_REQUEST",
      status: 400,
      launcherMessage: "token_type is a required parameter",
    });
    expect(error.message).toContain("token_type is a required parameter");
    expect(requests.count).toBe(1);
  });

  it("retries a 500 and keeps its text when every attempt fails", async () => {
    const body =
      "failed to retrieve attestation service token: calling v1.VerifyConfidentialSpace in us-central1: googleapi: Error 500: boom";
    emu.failNext({ status: 500, body, count: 10 });
    const error = await failure(client({ retry: { maxAttempts: 3, initialDelayMs: 1 } }).defaultToken());
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_REQUEST", status: 500, launcherMessage: body });
    expect(requests.count).toBe(3);
  });

  it("recovers when a 5xx is followed by a token", async () => {
    emu.failNext({ status: 503, body: "unavailable", count: 2 });
    await expect(client({ retry: { maxAttempts: 3, initialDelayMs: 1 } }).defaultToken()).resolves.toEqual(
      expect.any(String),
    );
    expect(requests.count).toBe(3);
  });

  it("does not retry a 404", async () => {
    emu.failNext({ status: 404, body: "404 page not found", count: 5 });
    await expect(client().defaultToken()).rejects.toMatchObject({ status: 404 });
    expect(requests.count).toBe(1);
  });

  it("times out a slow launcher after timeoutMs", async () => {
    emu.delayNext(1500);
    const started = Date.now();
    const error = await failure(client({ timeoutMs: 100 }).defaultToken());
    expect(error).toMatchObject({ code: "ERR_LAUNCHER_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("LauncherClient with the emulator: the service quota", () => {
  let quotaEmu: Emulator;
  const clock = new ManualClock();
  const counted = requestCounter();
  beforeAll(async () => {
    quotaEmu = await startEmulator({
      writeTokenFile: false,
      launcherQuota: true,
      now: () => clock.now(),
      logger: counted.logger,
    });
  });
  afterAll(() => quotaEmu.stop());

  it("paces 12 concurrent requests at 5 per second so none hits the quota", async () => {
    const paced = new LauncherClient({ socketPath: quotaEmu.socketPath, clock, retry: { maxAttempts: 1 } });
    const calls = Array.from({ length: 12 }, (_, i) => paced.requestToken({ audience: `https://a${i}.example` }));
    const settled = Promise.allSettled(calls);
    await waitFor(() => counted.count === 5);
    await clock.advance(999);
    expect(counted.count).toBe(5);
    await clock.advance(1);
    await waitFor(() => counted.count === 10);
    await clock.advance(1000);
    await waitFor(() => counted.count === 12);
    const results = await settled;
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
  });

  it("without the limiter the same burst runs into the quota (the test above can fail)", async () => {
    await clock.advance(5000);
    const unpaced = new LauncherClient({
      socketPath: quotaEmu.socketPath,
      clock,
      requestsPerSecond: Infinity,
      retry: { maxAttempts: 1 },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => unpaced.requestToken({ audience: `https://b${i}.example` })),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(rejected).toHaveLength(7);
    expect(rejected[0]?.reason).toMatchObject({ status: 500, launcherMessage: expect.stringContaining("Quota") });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
