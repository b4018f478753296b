// What every `pnpm demo` scenario shares: numbered steps with the elapsed time, indented
// output, and the failure that names which expectation did not hold.

/** A scenario step did not do what it should; the message says what was expected. */
export class DemoFailure extends Error {}

export interface DemoContext {
  /** Prints `[n/total] title  (elapsed)`. */
  step(n: number, total: number, title: string): void;
  /** A printer that indents each line with `prefix`. */
  indent(prefix: string): (line: string) => void;
  /** Whether to leave the stack running until SIGINT/SIGTERM (azure only). */
  keep: boolean;
}

/** Throws a {@link DemoFailure} with `message` unless `ok`. */
export function expectThat(ok: boolean, message: string): void {
  if (!ok) throw new DemoFailure(message);
}
