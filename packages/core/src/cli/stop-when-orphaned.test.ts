import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { stopWhenOrphaned } from "./stop-when-orphaned.js";

// process.ppid is read on each check; a spy stands in for this process being re-parented.
// The module compares with the parent it saw when it was loaded, the real one.
const startingParent = process.ppid;
let parent: number;
beforeEach(() => {
  vi.useFakeTimers();
  parent = startingParent;
  vi.spyOn(process, "ppid", "get").mockImplementation(() => parent);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("stopWhenOrphaned", () => {
  it("under npx, calls back once within one interval after the parent goes away", () => {
    const onOrphaned = vi.fn();
    stopWhenOrphaned(onOrphaned, { env: { npm_command: "exec" } });
    vi.advanceTimersByTime(2_000);
    expect(onOrphaned).not.toHaveBeenCalled();
    parent = 1;
    vi.advanceTimersByTime(500);
    expect(onOrphaned).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5_000);
    expect(onOrphaned).toHaveBeenCalledTimes(1);
  });

  it("counts a parent that went away before the watch was registered (a CLI starts its servers first)", () => {
    const onOrphaned = vi.fn();
    parent = 1;
    stopWhenOrphaned(onOrphaned, { env: { npm_command: "exec" } });
    vi.advanceTimersByTime(500);
    expect(onOrphaned).toHaveBeenCalledTimes(1);
  });

  it.each([
    ["unset", {}],
    ["another npm command", { npm_command: "run-script" }],
  ])("outside npx (npm_command %s) leaves the process running when its parent goes away", (_what, env) => {
    const onOrphaned = vi.fn();
    stopWhenOrphaned(onOrphaned, { env });
    parent = 1;
    vi.advanceTimersByTime(5_000);
    expect(onOrphaned).not.toHaveBeenCalled();
  });

  it('with when: "always", watches whatever parent started the process', () => {
    const onOrphaned = vi.fn();
    stopWhenOrphaned(onOrphaned, { when: "always", env: {}, intervalMs: 100 });
    parent = 1;
    vi.advanceTimersByTime(100);
    expect(onOrphaned).toHaveBeenCalledTimes(1);
  });

  it("stops watching when the returned function is called", () => {
    const onOrphaned = vi.fn();
    const stop = stopWhenOrphaned(onOrphaned, { env: { npm_command: "exec" } });
    stop();
    parent = 1;
    vi.advanceTimersByTime(5_000);
    expect(onOrphaned).not.toHaveBeenCalled();
  });

  it("keeps no process alive: its timer is unref'd", () => {
    const setIntervalSpy = vi.spyOn(globalThis, "setInterval");
    stopWhenOrphaned(() => {}, { when: "always" });
    const timer = setIntervalSpy.mock.results[0]?.value as { hasRef(): boolean };
    expect(timer.hasRef()).toBe(false);
  });
});
