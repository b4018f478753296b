import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { flush, ManualClock } from "../test/manual-clock.js";
import { type Expiring, TokenCache } from "./token-cache.js";

type Command =
  | { kind: "get"; key: string; force: boolean; abort: boolean }
  | { kind: "advance"; ms: number }
  | { kind: "settle"; key: string; ok: boolean; lifetimeMs: number }
  | { kind: "dispose" };

const keys = ["a", "b", "c"];
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("get" as const),
      key: fc.constantFrom(...keys),
      force: fc.boolean(),
      abort: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 2 * 3_600_000 })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      key: fc.constantFrom(...keys),
      ok: fc.boolean(),
      lifetimeMs: fc.oneof(fc.integer({ min: -1_000, max: 120_000 }), fc.integer({ min: 0, max: 3_600_000 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "dispose" as const }) },
);

describe("TokenCache under random interleavings", () => {
  it("never has two upstream calls in flight for a key, never returns an expired value, and settles every caller", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        async (commands, jitter) => {
          const clock = new ManualClock();
          const pending = new Map<string, { resolve: (v: Expiring<number>) => void; reject: (e: unknown) => void }[]>();
          let maxInFlight = 0;
          let sequence = 0;
          const cache = new TokenCache<string, number>({
            clock,
            random: () => jitter,
            fetch: (key) =>
              new Promise<Expiring<number>>((resolve, reject) => {
                const list = pending.get(key) ?? [];
                list.push({ resolve, reject });
                pending.set(key, list);
                maxInFlight = Math.max(maxInFlight, list.length);
              }),
          });
          // Each value is the expiry time itself, so a returned value proves when it was valid until.
          const settled: boolean[] = [];
          const violations: string[] = [];
          const calls: Promise<void>[] = [];
          for (const c of commands) {
            if (c.kind === "get") {
              const index = settled.push(false) - 1;
              const controller = new AbortController();
              calls.push(
                cache.get(c.key, { forceRefresh: c.force, signal: controller.signal }).then(
                  (expiresAt) => {
                    settled[index] = true;
                    if (clock.now() >= expiresAt) violations.push(`expired value at ${clock.now()} >= ${expiresAt}`);
                  },
                  () => {
                    settled[index] = true;
                  },
                ),
              );
              if (c.abort) controller.abort(new Error("aborted"));
            } else if (c.kind === "advance") {
              await clock.advance(c.ms);
            } else if (c.kind === "settle") {
              const next = pending.get(c.key)?.shift();
              if (c.ok) {
                sequence += 1;
                const expiresAt = clock.now() + c.lifetimeMs;
                next?.resolve({ value: expiresAt, expiresAt });
              } else next?.reject(new Error(`failure ${sequence}`));
            } else {
              cache.dispose();
            }
            await flush();
          }
          // Finish: answer everything still in flight, then dispose; every caller must settle.
          for (const list of pending.values()) for (const p of list.splice(0)) p.reject(new Error("end"));
          cache.dispose();
          await Promise.all(calls);
          expect(violations).toEqual([]);
          expect(maxInFlight).toBeLessThanOrEqual(1);
          expect(settled.every(Boolean)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
