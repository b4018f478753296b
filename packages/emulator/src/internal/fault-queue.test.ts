import { describe, expect, it } from "vitest";
import { EmulatorOptionError } from "../errors.js";
import { FaultQueue } from "./fault-queue.js";

describe("FaultQueue", () => {
  it("serves queued failures in order, each for its count", () => {
    const queue = new FaultQueue();
    queue.addFailure({ status: 500, body: "a", count: 2 }, "t");
    queue.addFailure({ status: 400, body: "b" }, "t");
    expect([queue.takeFailure(), queue.takeFailure(), queue.takeFailure(), queue.takeFailure()]).toEqual([
      { status: 500, body: "a" },
      { status: 500, body: "a" },
      { status: 400, body: "b" },
      undefined,
    ]);
  });

  it("keeps an Infinity failure until cleared", () => {
    const queue = new FaultQueue();
    queue.addFailure({ status: 503, body: "down", count: Number.POSITIVE_INFINITY }, "t");
    for (let i = 0; i < 100; i++) expect(queue.takeFailure()?.status).toBe(503);
    queue.clear();
    expect(queue.takeFailure()).toBeUndefined();
  });

  it("serves delays one per request", () => {
    const queue = new FaultQueue();
    queue.addDelay(10, "t");
    queue.addDelay(20, "t");
    expect([queue.takeDelay(), queue.takeDelay(), queue.takeDelay()]).toEqual([10, 20, undefined]);
  });

  it.each([
    [{ status: 99, body: "" }],
    [{ status: 600, body: "" }],
    [{ status: 500.5, body: "" }],
    [{ status: 500, body: 1 as unknown as string }],
    [{ status: 500, body: "", count: 0 }],
    [{ status: 500, body: "", count: 1.5 }],
  ])("rejects the invalid failure %j", (response) => {
    expect(() => new FaultQueue().addFailure(response, "failNext()")).toThrow(EmulatorOptionError);
    expect(() => new FaultQueue().addFailure(response, "failNext()")).toThrow(
      expect.objectContaining({ option: expect.stringMatching(/^failNext\.(status|body|count)$/) }),
    );
    expect(() => new FaultQueue().addFailure(response, "failNext()")).toThrow(/^failNext\(\)/);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("rejects the delay %d", (ms) => {
    expect(() => new FaultQueue().addDelay(ms, "delayNext()")).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION", option: "delayNext" }),
    );
  });
});
