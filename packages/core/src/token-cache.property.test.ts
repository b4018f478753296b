import { flush, ManualClock } from "@confspace/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Expiring, TokenCache } from "./token-cache.js";

// Deterministic by default, so CI replays the same runs every time. Locally:
//   CONFSPACE_FC_SEED=random pnpm exec vitest run packages/core/src/token-cache.property.test.ts
// explores new seeds, CONFSPACE_FC_SEED=<n> replays a reported one, CONFSPACE_FC_RUNS=<n> runs more.
const SEED_ENV = "CONFSPACE_FC_SEED";
const DEFAULT_SEED = 20_260_101;
const MAX_BACKOFF_MS = 60_000; // the default retry.maxDelayMs

type Command =
  | { kind: "get"; key: string; force: boolean; abort: boolean }
  | { kind: "advance"; ms: number }
  | { kind: "settle"; key: string; ok: boolean; lifetimeMs: number };

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
      ms: fc.oneof(
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 0, max: 2 * MAX_BACKOFF_MS }),
        fc.integer({ min: 0, max: 2 * 3_600_000 }),
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("settle" as const),
      key: fc.constantFrom(...keys),
      ok: fc.boolean(),
      lifetimeMs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: -1_000, max: 120_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
      ),
    }),
  },
);

/** Per key: what the test knows about the cache's failures and its upstream calls. */
interface KeyModel {
  pending: { resolve: (v: Expiring<number>) => void; reject: (e: unknown) => void }[];
  /** When the last recorded failure happened (a rejected fetch or a value that arrived expired). */
  failedAt?: number;
  /** Upstream calls started since that failure. */
  callsSinceFailure: number;
}

async function run(commands: Command[], jitter: number, disposeAt: number): Promise<string[]> {
  const clock = new ManualClock();
  const model = new Map(keys.map((k): [string, KeyModel] => [k, { pending: [], callsSinceFailure: 0 }]));
  const violations: string[] = [];
  const cache = new TokenCache<string, number>({
    clock,
    random: () => jitter,
    fetch: (key) =>
      new Promise<Expiring<number>>((resolve, reject) => {
        const m = model.get(key)!;
        m.pending.push({ resolve, reject });
        m.callsSinceFailure += 1;
        if (m.pending.length > 1) violations.push(`two upstream calls in flight for ${key}`);
      }),
  });
  // Each value is its own expiry time, so a served value proves it was still valid.
  const served = (key: string, expiresAt: number, how: string) => {
    if (clock.now() >= expiresAt) violations.push(`${how} ${key}: expired value at ${clock.now()} >= ${expiresAt}`);
  };
  let disposed = false;
  const settledFlags: boolean[] = [];
  const calls: Promise<void>[] = [];
  for (const [index, c] of commands.entries()) {
    if (index === disposeAt) {
      cache.dispose();
      disposed = true;
    }
    if (c.kind === "get") {
      const m = model.get(c.key)!;
      // With nothing in flight, nothing valid to serve (or a forced refresh), and any backoff over,
      // the call must reach the upstream: a failure is never cached.
      const mustCall =
        !disposed &&
        m.pending.length === 0 &&
        (c.force || cache.peek(c.key) === undefined) &&
        (m.failedAt === undefined || clock.now() - m.failedAt >= MAX_BACKOFF_MS);
      const callsBefore = m.callsSinceFailure;
      const slot = settledFlags.push(false) - 1;
      const controller = new AbortController();
      calls.push(
        cache.get(c.key, { forceRefresh: c.force, signal: controller.signal }).then(
          (expiresAt) => {
            settledFlags[slot] = true;
            served(c.key, expiresAt, "get");
          },
          () => {
            settledFlags[slot] = true;
          },
        ),
      );
      if (c.abort) controller.abort(new Error("aborted"));
      await flush();
      if (mustCall && m.callsSinceFailure === callsBefore) {
        violations.push(`get ${c.key} at ${clock.now()}: no upstream call (failure at ${m.failedAt ?? "never"})`);
      }
    } else if (c.kind === "advance") {
      await clock.advance(c.ms);
    } else {
      const m = model.get(c.key)!;
      const next = m.pending.shift();
      if (next !== undefined) {
        const failed = !c.ok || c.lifetimeMs <= 0; // a value expiring now or earlier arrives expired
        if (c.ok) next.resolve({ value: clock.now() + c.lifetimeMs, expiresAt: clock.now() + c.lifetimeMs });
        else next.reject(new Error("upstream failure"));
        if (failed) {
          m.failedAt = clock.now();
          m.callsSinceFailure = 0;
        } else m.failedAt = undefined;
      }
      await flush();
    }
    for (const [key, m] of model) {
      const valid = cache.peek(key);
      if (valid !== undefined) served(key, valid, "peek");
      // A failure while a valid value is held is retried in the background within the maximum backoff.
      if (
        !disposed &&
        valid !== undefined &&
        m.failedAt !== undefined &&
        m.callsSinceFailure === 0 &&
        clock.now() - m.failedAt >= MAX_BACKOFF_MS
      ) {
        violations.push(`${key}: no retry ${clock.now() - m.failedAt} ms after a failure while a valid value was held`);
      }
    }
  }
  // Finish: answer everything still in flight, then dispose; every caller must settle.
  for (const m of model.values()) for (const p of m.pending.splice(0)) p.reject(new Error("end"));
  cache.dispose();
  await Promise.all(calls);
  if (!settledFlags.every(Boolean)) violations.push("a caller never settled");
  return violations;
}

function chooseSeed(): number {
  const raw = process.env[SEED_ENV];
  if (raw === undefined || raw === "") return DEFAULT_SEED;
  if (raw === "random") return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`${SEED_ENV} must be an integer or "random", not ${raw}`);
  return seed;
}

describe("TokenCache under random interleavings", () => {
  it("one upstream call per key, never an expired value, a retry after every failure, every caller settled", async () => {
    const seed = chooseSeed();
    const numRuns = Number(process.env.CONFSPACE_FC_RUNS ?? 150);
    const lengths: number[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(command, { minLength: 20, maxLength: 80, size: "max" }),
          fc.double({ min: 0, max: 0.999, noNaN: true }),
          fc.option(fc.integer({ min: 0, max: 100 }), { freq: 4 }),
          async (commands, jitter, disposeAt) => {
            lengths.push(commands.length);
            expect(await run(commands, jitter, disposeAt ?? -1)).toEqual([]);
          },
        ),
        { seed, numRuns },
      );
    } catch (error) {
      throw new Error(`property failed with seed ${seed}; replay with ${SEED_ENV}=${seed}`, { cause: error });
    }
    // Long runs, not a handful of commands: interleavings need tens of steps to reach backoff and refresh.
    expect(lengths.reduce((a, b) => a + b, 0) / lengths.length).toBeGreaterThan(30);
  });
});
