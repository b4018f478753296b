import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { closesWithin, GARBAGE, openIdle, openTls, post } from "../test/raw-clients.js";

const ATTACKER = "127.0.0.2";
const refused = (reason: string) => `confspace_broker_connections_refused_total{reason="${reason}"}`;

describe("broker: connection limits", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await startTestEnvironment();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("closes a connection that never sends a ClientHello after handshakeTimeoutSeconds, not Node's 120 s", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { ...config.limits, handshakeTimeoutSeconds: 1 };
      }),
    );
    const idle = await openIdle(running.broker.address!.port);
    const closedAfter = await closesWithin(idle, 4_000);
    expect(closedAfter).toBeGreaterThanOrEqual(800);
    expect(closedAfter).toBeLessThan(4_000);
  });

  it("caps the connections of one source at accept, and serves other sources meanwhile", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { ...config.limits, maxConnectionsPerSource: 3 };
      }),
    );
    const port = running.broker.address!.port;
    const held = await Promise.all([1, 2, 3].map(() => openIdle(port, ATTACKER)));
    await expect.poll(() => running.broker.metrics.openConnections.value()).toBe(3);
    const fourth = await openIdle(port, ATTACKER);
    expect(await closesWithin(fourth, 2_000)).toBeDefined();
    for (const socket of held) expect(socket.destroyed).toBe(false);
    expect((await running.request()).status).toBe(200);
    expect(running.broker.metrics.render()).toContain(`${refused("per_source")} 1\n`);
    for (const socket of held) socket.destroy();
    // A closed connection frees its slot.
    await expect.poll(() => running.broker.metrics.openConnections.value()).toBe(0);
    const again = await openIdle(port, ATTACKER);
    expect(await closesWithin(again, 300)).toBeUndefined();
    again.destroy();
  });

  it("caps all connections at maxConnections, closing the excess at accept", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { ...config.limits, maxConnections: 4, maxConnectionsPerSource: 0 };
      }),
    );
    const port = running.broker.address!.port;
    const held = await Promise.all([1, 2, 3, 4].map((i) => openIdle(port, `127.0.0.${10 + i}`)));
    await expect.poll(() => running.broker.metrics.openConnections.value()).toBe(4);
    const fifth = await openIdle(port, "127.0.0.20");
    expect(await closesWithin(fifth, 2_000)).toBeDefined();
    expect(running.broker.metrics.render()).toContain(`${refused("max_connections")} 1\n`);
    for (const socket of held) socket.destroy();
    await expect.poll(() => running.broker.metrics.openConnections.value()).toBe(0);
    expect((await running.request()).status).toBe(200);
  });

  it("rate-limits a source before reading its body or checking a signature: 429 with Retry-After", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { ...config.limits, sourceRateLimit: { ratePerSecond: 0.1, burst: 2 } };
      }),
    );
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await post(running.url, { ca: env.pki.caPem, localAddress: ATTACKER, body: GARBAGE });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
    expect(JSON.parse(limited!.body)).toMatchObject({ error: "rate_limited" });
    expect(Number(limited!.headers["retry-after"])).toBeGreaterThanOrEqual(9);
    // Only the two admitted tokens reached the verifier.
    expect(running.broker.metrics.render()).toMatch(/confspace_broker_verification_failures_total\{[^}]*\} 2\n/);
    // Another source has its own bucket.
    expect((await running.request()).status).toBe(200);
  });

  it("closes a connection whose body stalls after requestTimeoutSeconds", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { ...config.limits, requestTimeoutSeconds: 1 };
      }),
    );
    const socket = await openTls(running.broker.address!.port, env.pki.caPem);
    let reply = "";
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
    });
    socket.write("POST /v1/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n");
    socket.write("Content-Length: 1000\r\n\r\n{");
    const closedAfter = await closesWithin(socket, 5_000);
    expect(closedAfter).toBeDefined();
    expect(closedAfter).toBeGreaterThanOrEqual(800);
    expect(reply).not.toMatch(/ 200 /);
  });

  it("closes a connection whose headers trickle in (slowloris) after the header timeout", async () => {
    const running = await env.startBroker(
      env.config((config) => {
        config.limits = { ...config.limits, requestTimeoutSeconds: 1 };
      }),
    );
    const socket = await openTls(running.broker.address!.port, env.pki.caPem);
    socket.write("POST /v1/token HTTP/1.1\r\nHost: localhost\r\n");
    const drip = setInterval(() => socket.writable && socket.write("X-Slow: 1\r\n"), 200);
    const closedAfter = await closesWithin(socket, 5_000);
    clearInterval(drip);
    expect(closedAfter).toBeDefined();
  });

  it("answers 431 to a request whose headers exceed 16 KiB", async () => {
    const running = await env.startBroker();
    const res = await post(running.url, {
      ca: env.pki.caPem,
      body: GARBAGE,
      headers: { "x-padding": "p".repeat(20_000) },
    }).catch((error: unknown) => error);
    expect(res).toMatchObject({ status: 431 });
  });
});
