/**
 * A sliding-window rate limit: at most `limit` acquisitions in any `windowMs`.
 * Models the attestation service's per-project quota (5 requests per second).
 */
export class RateWindow {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #stamps: number[] = [];

  constructor(limit: number, windowMs: number, now: () => number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Records a request and says whether it is within the limit. Refused requests do not count. */
  tryAcquire(): boolean {
    const now = this.#now();
    this.#stamps = this.#stamps.filter((stamp) => stamp > now - this.#windowMs);
    if (this.#stamps.length >= this.#limit) return false;
    this.#stamps.push(now);
    return true;
  }
}
