import { expect, it } from "vitest";
import { runLocal } from "./local.js";

it("reads KV, opens the transit-wrapped data key and writes heartbeats across several token expiries without a refused request", async () => {
  const lines: string[] = [];
  const result = await runLocal({
    tokenTtlSeconds: 2,
    tokenMaxTtlSeconds: 5,
    rounds: 10,
    intervalMs: 800,
    log: (line) => lines.push(line),
  });
  expect(result.rounds.map((r) => r.message)).toEqual(Array(10).fill("only the attested workload can read this"));
  expect(result.rounds.map((r) => r.heartbeatVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // ~8 s of 5-second tokens: at least two logins, renewals in between, never a 4xx/5xx.
  expect(result.logins).toBeGreaterThanOrEqual(2);
  expect(result.renewals).toBeGreaterThanOrEqual(1);
  expect(result.refused).toBe(0);
  expect(new Set(result.rounds.map((r) => r.loggedInAt)).size).toBeGreaterThanOrEqual(2);
  expect(lines.join("\n")).not.toMatch(/hv[sb]\.|\bs\.[A-Za-z0-9]{24}\b|eyJ/);
}, 30_000);
