import type { IncomingMessage } from "node:http";
import { InvalidOptionError } from "@confspace/core";
import { describe, expect, it, vi } from "vitest";
import { FaultQueue, localServerHandle, newRequestRecord, redactHeaders } from "./local-server.js";

describe("FaultQueue", () => {
  it("hands out faults in order, each for its count, then nothing", () => {
    const queue = new FaultQueue("test");
    queue.failNext({ status: 503, count: 2 });
    queue.failNext({ status: 400, code: "Throttling", message: "Rate exceeded" });
    expect([1, 2, 3, 4].map(() => queue.take("/").fault?.status)).toEqual([503, 503, 400, undefined]);
  });

  it("defaults the message and keeps code, body and headers", () => {
    const queue = new FaultQueue("test");
    queue.failNext({ status: 500, code: "X", body: { a: 1 }, headers: { "retry-after": "2" } });
    expect(queue.take("/").fault).toEqual({
      status: 500,
      code: "X",
      message: "Injected fault.",
      body: { a: 1 },
      headers: { "retry-after": "2" },
    });
  });

  it("lets pathPrefix pick the requests a fault or delay reaches, leaving others alone", () => {
    const queue = new FaultQueue("test");
    queue.failNext({ status: 503, pathPrefix: "/token" });
    queue.delayNext(50, { pathPrefix: "/token" });
    expect(queue.take("/keys")).toEqual({ delayMs: 0, fault: undefined });
    expect(queue.take("/token")).toMatchObject({ delayMs: 50, fault: { status: 503 } });
  });

  it("queues delays one per request and clearFaults drops everything", () => {
    const queue = new FaultQueue("test");
    queue.delayNext(10, { count: 2 });
    queue.failNext({ status: 503, count: Number.POSITIVE_INFINITY });
    expect(queue.take("/").delayMs).toBe(10);
    queue.clearFaults();
    expect(queue.take("/")).toEqual({ delayMs: 0, fault: undefined });
  });

  it.each([
    [{ status: 99 }, "status"],
    [{ status: 600 }, "status"],
    [{ status: 500.5 }, "status"],
    [{ status: 503, count: 0 }, "count"],
    [{ status: 503, count: 1.5 }, "count"],
    [{ status: 503, body: null }, "body"],
    [{ status: 503, code: 7 }, "code"],
    [{ status: 503, headers: { a: 1 } }, "headers"],
    [{ status: 503, times: 2 }, "times"],
  ])("refuses %j with an InvalidOptionError naming %s", (fault, option) => {
    const queue = new FaultQueue("test");
    expect(() => queue.failNext(fault as never)).toThrow(expect.objectContaining({ option }));
    expect(() => queue.failNext(fault as never)).toThrow(InvalidOptionError);
  });

  it("refuses a negative delay and an unknown delay option", () => {
    const queue = new FaultQueue("test");
    expect(() => queue.delayNext(-1)).toThrow(expect.objectContaining({ option: "ms" }));
    expect(() => queue.delayNext(1, { times: 2 } as never)).toThrow(expect.objectContaining({ option: "times" }));
  });
});

describe("request records", () => {
  it("redact every credential-bearing header and keep the rest", () => {
    expect(
      redactHeaders({
        authorization: "Bearer secret",
        "x-amz-security-token": "t",
        "x-vault-token": "v",
        cookie: "c",
        "x-api-key": "k",
        "content-type": "application/json",
        accept: ["a", "b"] as unknown as string,
      }),
    ).toEqual({
      authorization: "[redacted]",
      "x-amz-security-token": "[redacted]",
      "x-vault-token": "[redacted]",
      cookie: "[redacted]",
      "x-api-key": "[redacted]",
      "content-type": "application/json",
      accept: "a, b",
    });
  });

  it("hold the path without its query string", () => {
    const req = { method: "POST", url: "/t/oauth2/v2.0/token?client-request-id=x", headers: {} } as IncomingMessage;
    expect(newRequestRecord(req, 5)).toEqual({
      method: "POST",
      path: "/t/oauth2/v2.0/token",
      headers: {},
      at: 5,
      status: 0,
      error: undefined,
      fault: false,
    });
  });
});

describe("localServerHandle", () => {
  it("closes once however often close() and asyncDispose are called", async () => {
    const stop = vi.fn(async () => {});
    const handle = localServerHandle([], new FaultQueue("test"), stop);
    await Promise.all([handle.close(), handle.close(), handle[Symbol.asyncDispose]()]);
    expect(stop).toHaveBeenCalledTimes(1);
  });
});
