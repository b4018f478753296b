import { expect, it } from "vitest";
import { runLocal } from "./local.js";

it("puts and gets through the broker, then by web identity through several 2-second sessions", async () => {
  const lines: string[] = [];
  const result = await runLocal({
    durationSeconds: 2,
    rounds: 7,
    brokerRounds: 2,
    intervalMs: 700,
    log: (line) => lines.push(line),
  });
  expect(result.broker).toHaveLength(2);
  expect(new Set(result.broker).size).toBe(1); // one 900-second broker session serves both rounds
  expect(result.webIdentity).toHaveLength(7);
  // 7 rounds over ~4.2 s of 2-second sessions: at least three sessions were used, each fetched once.
  expect(new Set(result.webIdentity).size).toBeGreaterThanOrEqual(3);
  expect(result.stsCalls).toBeGreaterThanOrEqual(new Set(result.webIdentity).size);
  expect(result.stsCalls).toBeLessThanOrEqual(result.webIdentity.length + 1);
  expect(lines.join("\n")).not.toMatch(/ASIA[A-Z2-7]{16}/);
}, 30_000);
