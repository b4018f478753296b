// The launcher's default token file: written to a temporary file in the same
// directory, then renamed over the target, so a reader sees either the old token or
// the new one, never a partial write. Rewritten at a uniform 70–90 % of the token's
// lifetime; a failed write is retried after 60 s, doubling up to 1 h (go-tpm-tools launcher).
import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "@confspace/core";

export interface TokenFileWriterOptions {
  path: string;
  /** Mints the default token. */
  mint: () => Promise<string>;
  /** Lifetime of minted tokens, seconds. */
  lifetimeSeconds: number;
  logger: Logger;
  /** Uniform random number in [0, 1). Default `Math.random`. */
  random?: () => number;
}

const FIRST_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 3_600_000;

/** Writes `contents` to `path` atomically: temp file in the same directory, then rename. */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, contents, { mode: 0o644 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Keeps the default token file fresh until stopped. */
export class TokenFileWriter {
  readonly path: string;
  readonly #options: TokenFileWriterOptions;
  readonly #random: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;
  #written = false;

  constructor(options: TokenFileWriterOptions) {
    this.path = options.path;
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  /** Milliseconds until the next scheduled rewrite, from a uniform 70–90 % of the lifetime. */
  nextRefreshDelayMs(): number {
    return this.#options.lifetimeSeconds * 1000 * (0.7 + 0.2 * this.#random());
  }

  /** Writes a fresh token now and reschedules. Rejects if the write fails. */
  refresh(): Promise<void> {
    const run = this.#queue.then(() => this.#write());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(): Promise<void> {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    try {
      const token = await this.#options.mint();
      if (this.#stopped) return;
      await writeFileAtomic(this.path, token);
      this.#written = true;
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.#schedule(this.nextRefreshDelayMs());
    } catch (error) {
      if (this.#stopped) return;
      this.#options.logger.warn("token file emulator: write failed; retrying", {
        path: this.path,
        retryInMs: this.#backoffMs,
        error,
      });
      this.#schedule(this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
      throw error;
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.refresh().catch(() => {}); // logged in #write; retried on the backoff schedule
    }, delayMs);
    this.#timer.unref?.();
  }

  /** Resolves once no write is in progress. */
  async settled(): Promise<void> {
    await this.#queue;
  }

  /** Cancels the schedule, waits for a write in progress and removes the file if it wrote one. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queue;
    if (this.#written) await rm(this.path, { force: true });
  }
}
