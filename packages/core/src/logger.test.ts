import { describe, expect, it } from "vitest";
import { jsonLogger, type Logger, redactingLogger } from "./logger.js";

const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

describe("jsonLogger", () => {
  it("writes one redacted JSON line per call at or above its level", () => {
    const lines: string[] = [];
    const logger = jsonLogger({
      level: "info",
      stream: { write: (l) => lines.push(l) },
      now: () => 0,
      base: { service: "broker" },
    });
    logger.debug("dropped");
    logger.info(`issued ${jwt}`, { headers: { authorization: `Bearer ${jwt}` }, status: 200 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ time: "1970-01-01T00:00:00.000Z", level: "info", service: "broker", status: 200 });
    expect(lines[0]).not.toContain("c2lnbmF0dXJl");
  });
});

describe("redactingLogger", () => {
  it("redacts before the wrapped logger sees anything and passes no empty fields", () => {
    const seen: unknown[][] = [];
    const inner: Logger = {
      debug: (...a) => seen.push(a),
      info: (...a) => seen.push(a),
      warn: (...a) => seen.push(a),
      error: (...a) => seen.push(a),
    };
    const logger = redactingLogger(inner);
    logger.warn(`bad ${jwt}`);
    logger.error("failed", { client_secret: "hunter2hunter2" });
    expect(seen[0]).toHaveLength(1);
    expect(JSON.stringify(seen)).not.toContain("c2lnbmF0dXJl");
    expect(JSON.stringify(seen)).not.toContain("hunter2hunter2");
  });
});
