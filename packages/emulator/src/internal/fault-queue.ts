import { EmulatorOptionError } from "../errors.js";

/** An injected failure: what the next request(s) get instead of a normal reply. */
export interface FailureResponse {
  /** HTTP status, 100–599. */
  status: number;
  /** Body text, sent as is. */
  body: string;
  /** How many requests fail, a positive integer or `Infinity`. Default 1. */
  count?: number;
}

/** Queued failures and delays for one endpoint, consumed in order, one per request. */
export class FaultQueue {
  readonly #failures: { status: number; body: string; remaining: number }[] = [];
  readonly #delays: number[] = [];

  addFailure(response: FailureResponse, what: string): void {
    const { status, body } = response;
    const count = response.count ?? 1;
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new EmulatorOptionError(
        `${optionName(what)}.status`,
        `${what}: status must be an integer from 100 to 599.`,
      );
    }
    if (typeof body !== "string")
      throw new EmulatorOptionError(`${optionName(what)}.body`, `${what}: body must be a string.`);
    if (!(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count > 0))) {
      throw new EmulatorOptionError(
        `${optionName(what)}.count`,
        `${what}: count must be a positive integer or Infinity.`,
      );
    }
    this.#failures.push({ status, body, remaining: count });
  }

  addDelay(ms: number, what: string): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new EmulatorOptionError(optionName(what), `${what}: the delay must be a finite number of ms, at least 0.`);
    }
    this.#delays.push(ms);
  }

  takeFailure(): { status: number; body: string } | undefined {
    const next = this.#failures[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) this.#failures.shift();
    return { status: next.status, body: next.body };
  }

  takeDelay(): number | undefined {
    return this.#delays.shift();
  }

  clear(): void {
    this.#failures.length = 0;
    this.#delays.length = 0;
  }
}

/** `failNext()` → `failNext`: the method's name, as the option an error names. */
function optionName(what: string): string {
  return what.replace(/\(\)$/, "");
}
