import { systemClock } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnvironment, type TestEnvironment } from "../test/harness.js";

describe("broker: issuer key rotation", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await startTestEnvironment();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("answers a token of a key rotated in during the JWKS cooldown with 503 and Retry-After, then serves it", async () => {
    // The broker's clock runs `offset` ms ahead of the real one, so the cooldown can pass at once.
    let offset = 0;
    const clock = { ...systemClock, now: () => Date.now() + offset };
    const running = await env.startBroker(undefined, { clock });
    expect((await running.request()).status).toBe(200);
    await env.emulator.rotateKeys({ keepPrevious: false });

    const early = await running.request();
    expect(early.status).toBe(503);
    expect(early.json.error).toBe("verifier_unavailable");
    const retryAfter = Number(early.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(20);
    expect(retryAfter).toBeLessThanOrEqual(30);

    offset = 30_000;
    expect((await running.request()).status).toBe(200);
  });
});
