import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonLogger, type Logger, type LogLevel, noopLogger, redactingLogger } from "./logger.js";

const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

function capture(options: Parameters<typeof jsonLogger>[0] = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = jsonLogger({ stream: { write: (l) => lines.push(JSON.parse(l)) }, ...options });
  return { lines, logger };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("jsonLogger levels and defaults", () => {
  it.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
  ] as const)("at level %s writes %j, each line labelled with its own level", (level, written) => {
    const { lines, logger } = capture({ level, now: () => 0 });
    for (const l of LEVELS) logger[l](`m-${l}`);
    expect(lines.map((line) => [line.level, line.msg])).toEqual(written.map((l) => [l, `m-${l}`]));
  });

  it("defaults to level info, the current time and process.stderr", () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const logger = jsonLogger();
    const before = Date.now();
    logger.debug("dropped");
    logger.info("kept");
    expect(write).toHaveBeenCalledTimes(1);
    const line = JSON.parse(String(write.mock.calls[0]![0]));
    expect(line).toEqual({ time: expect.any(String), level: "info", msg: "kept" });
    expect(Date.parse(line.time)).toBeGreaterThanOrEqual(before - 1);
  });

  it("redacts the message, the base fields and the call's fields", () => {
    const { lines, logger } = capture({ now: () => 0, base: { service: "broker", token: "s3cr3t" } });
    logger.warn("client_secret=s3cr3t", { password: "s3cr3t", status: 401 });
    expect(lines).toEqual([
      {
        time: "1970-01-01T00:00:00.000Z",
        level: "warn",
        msg: "client_secret=[REDACTED]",
        service: "broker",
        token: "[REDACTED]",
        password: "[REDACTED]",
        status: 401,
      },
    ]);
  });
});

describe("redactingLogger routing", () => {
  it("sends each level to the same level of the wrapped logger, with redacted fields when given", () => {
    const seen: [string, ...unknown[]][] = [];
    const inner = Object.fromEntries(
      LEVELS.map((l) => [l, (...a: unknown[]) => seen.push([l, ...a])]),
    ) as unknown as Logger;
    const logger = redactingLogger(inner);
    for (const l of LEVELS) logger[l](`m-${l} token=abc`, { token: "abc", n: 1 });
    logger.info("bare");
    expect(seen).toEqual([
      ...LEVELS.map((l) => [l, `m-${l} token=[REDACTED]`, { token: "[REDACTED]", n: 1 }]),
      ["info", "bare"],
    ]);
  });

  it("noopLogger accepts every level and writes nothing", () => {
    const write = vi.spyOn(process.stderr, "write");
    for (const l of LEVELS) noopLogger[l]("x");
    expect(write).not.toHaveBeenCalled();
    expect(Object.isFrozen(noopLogger)).toBe(true);
  });
});
