import { type Clock, type Logger, noopLogger, REDACTED, redactingLogger, systemClock } from "@confspace/core";
import { LauncherError, LauncherUnavailableError } from "./errors.js";
import { MAX_TOKEN_BYTES, parseJwt } from "./internal/jwt.js";
import { envValue, positiveNumber } from "./internal/options.js";
import { limiterFor, type SlidingWindowLimiter } from "./internal/rate-limiter.js";
import { backoffMs, sleep } from "./internal/sleep.js";
import { RequestTimeoutError, unixHttpRequest } from "./internal/unix-http.js";
import { type TokenRequest, tokenRequestBody, validateTokenRequest } from "./token-request.js";

/** Environment variable naming the launcher socket; read when `socketPath` is not given. */
export const LAUNCHER_SOCKET_ENV = "CONFSPACE_LAUNCHER_SOCKET";

/** Where the Confidential Space launcher listens. */
export const DEFAULT_LAUNCHER_SOCKET = "/run/container_launcher/teeserver.sock";

/** Retries of {@link LauncherClient}: only connection failures and 5xx replies are retried. */
export interface LauncherRetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Delay before the first retry, in ms; doubles per retry, half of it random. Default 200. */
  initialDelayMs?: number;
  /** Longest delay between attempts, in ms. Default 2 000. */
  maxDelayMs?: number;
}

/** Options of {@link LauncherClient}. */
export interface LauncherClientOptions {
  /** Path of the launcher's Unix socket. Default: env `CONFSPACE_LAUNCHER_SOCKET`, then `/run/container_launcher/teeserver.sock`. */
  socketPath?: string;
  /** Deadline of one attempt (connect, send, read the reply), in ms. Timeouts are not retried. Default 10 000. */
  timeoutMs?: number;
  /** Retry policy. Defaults: 3 attempts, 200 ms doubling up to 2 000 ms. */
  retry?: LauncherRetryOptions;
  /**
   * Client-side quota: at most this many requests (retries included) start per second.
   * The service allows 5 per second per project and region; clients of the same socket
   * on the system clock share one budget within the process. `Infinity` turns it off. Default 5.
   */
  requestsPerSecond?: number;
  /** Largest reply accepted, in bytes. Default 65 536. */
  maxTokenBytes?: number;
  /** Receives request outcomes (never a token); wrapped with `redactingLogger`. Default: no logging. */
  logger?: Logger;
  /** Time and timers (deadlines, backoff, quota). Default `systemClock` from `@confspace/core`. */
  clock?: Clock;
  /** Random source in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
}

/** Per-call options of {@link LauncherClient} methods. */
export interface LauncherCallOptions {
  /** Abandons the call (also while waiting for quota or a retry); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Arguments of {@link LauncherClient.requestToken}. */
export interface RequestTokenOptions extends TokenRequest, LauncherCallOptions {}

const MAX_MESSAGE_CHARS = 512;
const RETRIED_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "EAGAIN"]);
const UNAVAILABLE_CODES = new Set(["ENOENT", "ENOTDIR", "ECONNREFUSED"]);

/**
 * Talks to the Confidential Space launcher over its Unix socket (plain HTTP/1.1, host
 * `localhost`): `GET /v1/token` for a fresh default token, `POST /v1/token` for custom
 * tokens. Requests are validated before they are sent, paced under the service quota,
 * retried on connection failures and 5xx replies, and their replies checked to be a
 * plausible JWT. No token ever appears in an error or a log line.
 *
 * @example
 * ```ts
 * const launcher = new LauncherClient();
 * const token = await launcher.requestToken({ audience: "https://broker.example", nonces: [nonce] });
 * ```
 */
export class LauncherClient {
  /** The socket this client talks to. */
  readonly socketPath: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxTokenBytes: number;
  readonly #limiter: SlidingWindowLimiter | undefined;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;

  constructor(options: LauncherClientOptions = {}) {
    this.socketPath = options.socketPath || envValue(LAUNCHER_SOCKET_ENV) || DEFAULT_LAUNCHER_SOCKET;
    this.#timeoutMs = positiveNumber("timeoutMs", options.timeoutMs, 10_000);
    this.#maxAttempts = positiveNumber("retry.maxAttempts", options.retry?.maxAttempts, 3, true);
    this.#initialDelayMs = positiveNumber("retry.initialDelayMs", options.retry?.initialDelayMs, 200);
    this.#maxDelayMs = positiveNumber("retry.maxDelayMs", options.retry?.maxDelayMs, 2_000);
    this.#maxTokenBytes = positiveNumber("maxTokenBytes", options.maxTokenBytes, MAX_TOKEN_BYTES, true);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ? redactingLogger(options.logger) : noopLogger;
    const perSecond = positiveNumber("requestsPerSecond", options.requestsPerSecond, 5);
    this.#limiter =
      perSecond === Number.POSITIVE_INFINITY ? undefined : limiterFor(this.socketPath, perSecond, this.#clock);
  }

  /**
   * A custom token (`POST /v1/token`). Throws {@link InvalidTokenRequestError} before
   * sending anything when the request breaks the service's limits,
   * {@link LauncherUnavailableError} when there is no launcher, {@link LauncherError}
   * when the launcher refuses or fails.
   */
  async requestToken(options: RequestTokenOptions): Promise<string> {
    const body = tokenRequestBody(validateTokenRequest(options));
    return this.#send("POST", body, options.signal);
  }

  /** A fresh default token (`GET /v1/token`, audience `https://sts.googleapis.com`). Errors as {@link LauncherClient.requestToken}. */
  async defaultToken(options: LauncherCallOptions = {}): Promise<string> {
    return this.#send("GET", undefined, options.signal);
  }

  async #send(method: "GET" | "POST", body: string | undefined, signal: AbortSignal | undefined): Promise<string> {
    const what = `${method} /v1/token`;
    for (let attempt = 1; ; attempt++) {
      await this.#limiter?.acquire(signal);
      const started = this.#clock.now();
      let response: Awaited<ReturnType<typeof unixHttpRequest>>;
      try {
        response = await unixHttpRequest({
          socketPath: this.socketPath,
          method,
          path: "/v1/token",
          body,
          timeoutMs: this.#timeoutMs,
          maxBodyBytes: this.#maxTokenBytes,
          signal,
          clock: this.#clock,
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof RequestTimeoutError) {
          this.#logger.warn("launcher request timed out", { request: what, attempt, timeoutMs: this.#timeoutMs });
          throw new LauncherError(
            "ERR_LAUNCHER_TIMEOUT",
            `The launcher at ${this.socketPath} did not answer ${what} within ${this.#timeoutMs} ms; raise the timeoutMs option if it is busy`,
            { cause: error },
          );
        }
        const code = (error as { code?: unknown }).code;
        const retriable = typeof code === "string" && RETRIED_CODES.has(code) && attempt < this.#maxAttempts;
        if (retriable) {
          await this.#backoff(what, attempt, { code }, signal);
          continue;
        }
        if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) {
          throw new LauncherUnavailableError(
            this.socketPath,
            `No Confidential Space launcher at ${this.socketPath} (${code}). Outside Confidential Space, start the emulator and set the socketPath option or ${LAUNCHER_SOCKET_ENV}.`,
            { cause: error },
          );
        }
        throw new LauncherError(
          "ERR_LAUNCHER_REQUEST",
          `${what} to the launcher at ${this.socketPath} failed (${typeof code === "string" ? code : "connection error"})${attempt > 1 ? ` after ${attempt} attempts` : ""}`,
          { cause: error },
        );
      }
      this.#logger.debug("launcher replied", {
        request: what,
        attempt,
        status: response.status,
        durationMs: this.#clock.now() - started,
      });
      if (response.status === 200) return this.#checkToken(what, response.body, response.overflow);
      if (response.status >= 500 && attempt < this.#maxAttempts) {
        await this.#backoff(what, attempt, { status: response.status }, signal);
        continue;
      }
      const launcherMessage = capMessage(response.body);
      throw new LauncherError(
        "ERR_LAUNCHER_REQUEST",
        `The launcher refused ${what} with status ${response.status}${attempt > 1 ? ` after ${attempt} attempts` : ""}: ${launcherMessage}`,
        { status: response.status, launcherMessage },
      );
    }
  }

  async #backoff(what: string, attempt: number, reason: object, signal: AbortSignal | undefined): Promise<void> {
    const delayMs = Math.round(backoffMs(attempt, this.#initialDelayMs, this.#maxDelayMs, this.#random));
    this.#logger.warn("launcher request failed; retrying", { request: what, attempt, delayMs, ...reason });
    await sleep(this.#clock, delayMs, signal);
  }

  #checkToken(what: string, body: string, overflow: boolean): string {
    if (overflow) {
      throw new LauncherError(
        "ERR_LAUNCHER_RESPONSE",
        `The launcher's reply to ${what} is larger than ${this.#maxTokenBytes} bytes; raise the maxTokenBytes option if that is expected`,
        { status: 200 },
      );
    }
    const token = body.trim();
    const parsed = parseJwt(token, this.#maxTokenBytes);
    if (!parsed.ok) {
      throw new LauncherError(
        "ERR_LAUNCHER_RESPONSE",
        `The launcher's reply to ${what} is not a token: ${parsed.reason}. Is ${this.socketPath} the launcher socket?`,
        { status: 200 },
      );
    }
    return token;
  }
}

// The launcher's error texts carry no secrets, and their detail is what the user needs
// ("failed to retrieve custom attestation service token: …"): core's redactString would
// mask everything after "token:", so only JWT-shaped substrings are masked, defensively.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** The launcher's error text, capped, with anything shaped like a JWT masked. */
function capMessage(body: string): string {
  const text = body.trim().replace(JWT_LIKE, REDACTED);
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}
