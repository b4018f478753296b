import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noopLogger } from "@confspace/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TokenFileWriter, writeFileAtomic } from "./token-file.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "confspace-token-file-"));
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

function countingMint() {
  let count = 0;
  const mint = vi.fn(async () => `token-${++count}`);
  return { mint, count: () => count };
}

describe("writeFileAtomic", () => {
  it("replaces the file and leaves no temporary file behind", async () => {
    const path = join(dir, "token");
    await writeFileAtomic(path, "first");
    await writeFileAtomic(path, "second");
    expect(await readFile(path, "utf8")).toBe("second");
    expect(await readdir(dir)).toEqual(["token"]);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it("never lets a concurrent reader see a partial or empty file", async () => {
    const path = join(dir, "token");
    const a = "A".repeat(256 * 1024);
    const b = "B".repeat(256 * 1024);
    await writeFileAtomic(path, a);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const text = await readFile(path, "utf8");
        seen.add(text === a ? "a" : text === b ? "b" : `partial:${text.length}`);
      }
    })();
    for (let i = 0; i < 40; i++) await writeFileAtomic(path, i % 2 ? a : b);
    writing = false;
    await reader;
    expect([...seen].filter((s) => s.startsWith("partial"))).toEqual([]);
    expect(seen.size).toBeGreaterThan(0);
  });

  it("removes its temporary file when the rename fails", async () => {
    const target = join(dir, "is-a-directory");
    await import("node:fs/promises").then((fs) => fs.mkdir(join(target, "child"), { recursive: true }));
    await expect(writeFileAtomic(target, "x")).rejects.toThrow();
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});

describe("TokenFileWriter", () => {
  it("writes the minted token on refresh()", async () => {
    const { mint } = countingMint();
    const writer = new TokenFileWriter({ path: join(dir, "t"), mint, lifetimeSeconds: 100, logger: noopLogger });
    await writer.refresh();
    expect(await readFile(join(dir, "t"), "utf8")).toBe("token-1");
    await writer.refresh();
    expect(await readFile(join(dir, "t"), "utf8")).toBe("token-2");
    await writer.stop();
  });

  it("draws the next refresh uniformly from 70–90 % of the lifetime", () => {
    const writer = new TokenFileWriter({
      path: join(dir, "t"),
      mint: async () => "x",
      lifetimeSeconds: 100,
      logger: noopLogger,
    });
    const delays = Array.from({ length: 2000 }, () => writer.nextRefreshDelayMs());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(70_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(90_000);
    expect(Math.min(...delays)).toBeLessThan(71_000);
    expect(Math.max(...delays)).toBeGreaterThan(89_000);
    const lowerHalf = delays.filter((d) => d < 80_000).length;
    expect(lowerHalf).toBeGreaterThan(800);
    expect(lowerHalf).toBeLessThan(1200);
  });

  it.each([
    [0, 70_000],
    [0.5, 80_000],
    [0.999_999, 89_999],
  ])("with random() = %d rewrites the file after %i ms and not before", async (random, dueMs) => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { mint } = countingMint();
    const writer = new TokenFileWriter({
      path: join(dir, "t"),
      mint,
      lifetimeSeconds: 100,
      logger: noopLogger,
      random: () => random,
    });
    await writer.refresh();
    expect(mint).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(dueMs - 1);
    expect(mint).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(mint).toHaveBeenCalledTimes(2);
    await writer.settled();
    expect(await readFile(join(dir, "t"), "utf8")).toBe("token-2");
    await writer.stop();
  });

  it("restarts the schedule when refreshed on demand", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { mint } = countingMint();
    const writer = new TokenFileWriter({
      path: join(dir, "t"),
      mint,
      lifetimeSeconds: 100,
      logger: noopLogger,
      random: () => 0,
    });
    await writer.refresh();
    await vi.advanceTimersByTimeAsync(60_000);
    await writer.refresh(); // next due at 60 s + 70 s
    expect(mint).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(69_999);
    expect(mint).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(mint).toHaveBeenCalledTimes(3);
    await writer.stop();
  });

  it("retries a failed write after 60 s, doubling the wait", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const mint = vi.fn(async (): Promise<string> => {
      throw new Error("service down");
    });
    const warn = vi.fn();
    const writer = new TokenFileWriter({
      path: join(dir, "t"),
      mint,
      lifetimeSeconds: 100,
      logger: { ...noopLogger, warn },
    });
    await expect(writer.refresh()).rejects.toThrow("service down");
    await vi.advanceTimersByTimeAsync(59_999);
    expect(mint).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(mint).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(119_999);
    expect(mint).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(mint).toHaveBeenCalledTimes(3);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining("write failed"),
      expect.objectContaining({ retryInMs: 60_000 }),
    );
    await writer.stop();
  });

  it("keeps its timer unref()ed so it never holds the process open", async () => {
    const writer = new TokenFileWriter({
      path: join(dir, "t"),
      mint: async () => "x",
      lifetimeSeconds: 3600,
      logger: noopLogger,
    });
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timeouts();
    await writer.refresh();
    expect(timeouts()).toBe(before);
    await writer.stop();
  });

  it("stop() cancels the schedule and removes the file it wrote", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { mint } = countingMint();
    const path = join(dir, "t");
    const writer = new TokenFileWriter({ path, mint, lifetimeSeconds: 10, logger: noopLogger });
    await writer.refresh();
    expect(vi.getTimerCount()).toBe(1);
    await writer.stop();
    expect(vi.getTimerCount()).toBe(0);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(mint).toHaveBeenCalledTimes(1);
  });
});
