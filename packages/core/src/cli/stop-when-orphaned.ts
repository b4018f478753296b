import type { EnvSource } from "../option-or-env.js";

/**
 * The parent this process had when the module was loaded: a CLI registers the watch only
 * after it has started its servers, and a parent that died in between must still count.
 */
const startingParent = process.ppid;

/** Options of {@link stopWhenOrphaned}. */
export interface StopWhenOrphanedOptions {
  /**
   * Which parents are watched: `"npx"` only when npx / `npm exec` started this process
   * (npm sets `npm_command=exec`), so a CLI started in the background by a shell or a
   * service manager keeps running after that parent exits; `"always"` whatever started
   * it (a development server that must never outlive its starter). Default `"npx"`.
   */
  when?: "npx" | "always";
  /** Where `npm_command` is read. Default `process.env`. */
  env?: EnvSource;
  /** How often the parent process is checked, ms. Default 500. */
  intervalMs?: number;
}

/**
 * For the confspace command-line tools: calls `onOrphaned` once when the process that
 * started this one is gone (this process was re-parented). npx hands a SIGTERM it receives
 * to the `sh -c` it runs the command in, and that shell dies without passing it on: without
 * this check the CLI would keep running as an orphan, holding its socket and ports. The
 * check's timer is unref'd, so it keeps no process alive. Returns a function that stops
 * watching.
 *
 * @example
 * ```ts
 * import { stopWhenOrphaned } from "@confspace/core/cli";
 *
 * stopWhenOrphaned(() => process.kill(process.pid, "SIGTERM")); // shut down as on SIGTERM
 * ```
 */
export function stopWhenOrphaned(onOrphaned: () => void, options: StopWhenOrphanedOptions = {}): () => void {
  const { when = "npx", env = process.env, intervalMs = 500 } = options;
  if (when === "npx" && env.npm_command !== "exec") return () => {};
  const timer = setInterval(() => {
    if (process.ppid === startingParent) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
