import { createServer, get as httpGet } from "node:http";
import type { AddressInfo } from "node:net";
import { type Clock, systemClock } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { post } from "../test/raw-clients.js";
import { createBroker } from "./broker.js";

function fetchText(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    }).on("error", reject);
  });
}

/** Listening TCP servers of this process (the token listener, the metrics listener, the test servers). */
const tcpServers = () => process.getActiveResourcesInfo().filter((name) => name === "TCPServerWrap").length;

describe("broker: metrics listener and internal errors", () => {
  let env: TestEnvironment;

  beforeAll(async () => {
    env = await startTestEnvironment();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("serves /metrics on its own loopback listener, never on the token listener", async () => {
    const running = await env.startBroker();
    await running.request();
    const metricsAddress = running.broker.metricsAddress!;
    expect(metricsAddress.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsAddress.port).not.toBe(running.broker.address!.port);
    const scraped = await fetchText(`${metricsAddress.url}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scraped.body).toContain('confspace_broker_requests_total{outcome="ok",provider="azure"} 1\n');
    expect((await fetchText(`${metricsAddress.url}/v1/token`)).status).toBe(404);
    const onTokenListener = await post(running.url, { ca: env.pki.caPem, method: "GET", path: "/metrics" });
    expect(onTokenListener.status).toBe(404);
  });

  it("binds the metrics listener to loopback unless told otherwise, and closes it with the broker", async () => {
    // Only the port is given: the host defaults to 127.0.0.1 (the port to 9464, METRICS_DEFAULTS).
    const running = await env.startBroker(
      env.config((config) => {
        config.metrics = { port: 0 };
      }),
    );
    const { url, host } = running.broker.metricsAddress!;
    expect(host).toBe("127.0.0.1");
    expect((await fetchText(`${url}/metrics`)).status).toBe(200);
    await running.broker.close();
    await expect(fetchText(`${url}/metrics`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("with metrics: false serves no metrics anywhere: one listener only, /metrics 404", async () => {
    const before = tcpServers();
    const running = await env.startBroker(
      env.config((config) => {
        config.metrics = false;
      }),
    );
    expect(tcpServers() - before).toBe(1);
    expect(running.broker.metricsAddress).toBeUndefined();
    const res = await post(running.url, { ca: env.pki.caPem, method: "GET", path: "/metrics" });
    expect(res.status).toBe(404);
    expect(res.body).not.toContain("confspace_broker");
    await running.broker.close();
    const withMetrics = await env.startBroker();
    expect(tcpServers() - before).toBe(2);
    await withMetrics.broker.close();
  });

  it("refuses to listen when the metrics port is taken, leaving nothing listening, and can retry", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    const before = tcpServers();
    const broker = createBroker(
      env.config((config) => {
        config.metrics = { port };
      }),
      { env: ENV },
    );
    try {
      await expect(broker.listen()).rejects.toMatchObject({ code: "ERR_BROKER_LISTEN" });
      expect(tcpServers()).toBe(before);
      await new Promise((resolve) => blocker.close(resolve));
      await expect(broker.listen()).resolves.toMatchObject({ host: "127.0.0.1" });
      expect(broker.metricsAddress?.port).toBe(port);
    } finally {
      blocker.close();
      await broker.close();
    }
  });

  it("answers a bug with 500 server_error and a fixed text, logging the error but never sending it", async () => {
    let explode = false;
    const clock: Clock = {
      now: () => {
        if (explode) throw new Error("internal-detail-7f3a at /srv/broker/secret-path");
        return systemClock.now();
      },
      setTimeout: (callback, ms) => systemClock.setTimeout(callback, ms),
      clearTimeout: (handle) => systemClock.clearTimeout(handle),
    };
    const running = await env.startBroker(undefined, { clock });
    explode = true;
    const res = await running.request().finally(() => {
      explode = false;
    });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: "server_error", error_description: "the broker failed to answer; retry later" });
    expect(res.text).not.toMatch(/internal-detail|secret-path|Error/);
    const logged = running.logs.records().find((r) => r.msg === "unexpected error answering a token request");
    expect(JSON.stringify(logged)).toContain("internal-detail-7f3a");
    expect(running.logs.records().find((r) => r.msg === "token request")).toMatchObject({
      level: "error",
      outcome: "server_error",
      status: 500,
    });
  });
});
