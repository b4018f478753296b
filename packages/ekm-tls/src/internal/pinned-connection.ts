import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Client } from "undici";
import type { BoundConnection, BoundRequestOptions, BoundResponse } from "../bound-connection.js";
import { BoundConnectionError, EkmArgumentError } from "../errors.js";
import { isTimeoutMs, startDeadline } from "./deadline.js";
import { BodyTooLargeError, readCappedBody } from "./read-body.js";

export interface PinnedConnectionSettings {
  origin: string;
  requestTimeoutMs: number;
  maxResponseBytes: number;
  idleTimeoutMs: number;
  /** undici's `Client` class, loaded by the caller (internal/load-undici.ts). */
  Client: typeof Client;
}

// Errors that mean the peer or the network ended the connection (not a bad response).
const CONNECTION_GONE = /^(UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_DESTROYED|ECONNRESET|EPIPE|ERR_SSL_|ERR_STREAM_)/;

/**
 * A {@link BoundConnection} over undici's `Client`, whose connector hands over the one
 * socket the keying material came from and refuses every later connect.
 */
export class PinnedConnection implements BoundConnection {
  readonly ekm: Buffer;
  readonly origin: string;
  readonly #socket: TLSSocket;
  readonly #client: Client;
  readonly #settings: PinnedConnectionSettings;
  readonly #socketClosed: Promise<void>;
  #handedOver = false;
  #closeCalled = false;
  #socketGone = false;
  #socketError: Error | undefined;
  #closing: Promise<void> | undefined;

  /** Must run synchronously inside `secureConnect`, before any later socket event. */
  constructor(socket: TLSSocket, ekm: Buffer, settings: PinnedConnectionSettings) {
    this.ekm = ekm;
    this.origin = settings.origin;
    this.#socket = socket;
    this.#settings = settings;
    // Ours are the first listeners, so the state is current before undici reacts.
    socket.on("error", (error) => {
      this.#socketError ??= error;
    });
    this.#socketClosed = new Promise((resolve) => {
      socket.once("close", () => {
        this.#socketGone = true;
        resolve();
      });
    });
    this.#client = new settings.Client(settings.origin, {
      pipelining: 1,
      allowH2: false,
      keepAliveTimeout: settings.idleTimeoutMs,
      keepAliveMaxTimeout: settings.idleTimeoutMs,
      connect: (_options, callback) => this.#connect(callback),
    });
  }

  get closed(): boolean {
    return this.#closeCalled || this.#socketGone || this.#socket.destroyed;
  }

  async request(options: BoundRequestOptions): Promise<BoundResponse> {
    const { path, method = "GET", headers, body, signal } = options;
    const timeoutMs = options.timeoutMs ?? this.#settings.requestTimeoutMs;
    const limitBytes = options.maxResponseBytes ?? this.#settings.maxResponseBytes;
    if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//")) {
      throw new EkmArgumentError("path", "path must be an absolute path such as /v1/token (the origin is fixed)");
    }
    if (!isTimeoutMs(timeoutMs)) {
      throw new EkmArgumentError("timeoutMs", "timeoutMs must be a number of milliseconds, 0 for no limit");
    }
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
      throw new EkmArgumentError("maxResponseBytes", "maxResponseBytes must be a non-negative integer number of bytes");
    }
    if (this.closed) throw this.#closedError();

    const deadline = startDeadline(
      signal,
      timeoutMs,
      () =>
        new BoundConnectionError(
          "ERR_REQUEST_TIMEOUT",
          this.origin,
          `No complete response from ${this.origin} within ${timeoutMs} ms; a request already sent closes the connection`,
          { timeoutMs },
        ),
    );
    try {
      if (deadline.signal.aborted) throw deadline.signal.reason;
      const response = await this.#client.request({
        path,
        method,
        headers,
        body: body ?? null,
        signal: deadline.signal,
      });
      const bytes = await readCappedBody(response.body, response.headers["content-length"], limitBytes);
      return createBoundResponse(response.statusCode, response.headers, bytes);
    } catch (error) {
      throw this.#requestError(error, deadline.signal);
    } finally {
      deadline.dispose();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closeCalled = true;
    // Lets requests already made finish; destroys the socket if undici holds it.
    await this.#client.close().catch(() => {});
    if (!this.#socketGone) {
      // Never handed over (or still open): send close_notify and FIN, then give the peer
      // a moment to answer before cutting it off.
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), 1_000);
      timer.unref();
      await this.#socketClosed;
      clearTimeout(timer);
    }
  }

  /** undici's connector: the pinned socket once, asynchronously; an error ever after. */
  #connect(callback: (...args: [null, TLSSocket] | [Error, null]) => void): void {
    if (this.#handedOver || this.closed) {
      process.nextTick(callback, this.#closedError(), null);
      return;
    }
    this.#handedOver = true;
    // undici must get the socket on a later tick: with undici 8, a synchronous callback
    // makes it fail the first request with UND_ERR_SOCKET "bad response" and reconnect.
    process.nextTick(() => {
      if (this.closed) callback(this.#closedError(), null);
      else callback(null, this.#socket);
    });
  }

  /** `cause`: the socket's own error when it had one (a TLS alert says more than undici's "other side closed"). */
  #closedError(cause?: unknown): BoundConnectionError {
    const root = this.#socketError ?? cause;
    const code = (root as { code?: unknown } | undefined)?.code;
    const detail = typeof code === "string" ? ` (${code})` : "";
    const message = this.#closeCalled
      ? `The bound connection to ${this.origin} was closed with close(); open a new one and bind a new token to its ekm`
      : `The bound connection to ${this.origin} is closed${detail} by the server, a reset or an idle timeout; open a new one and bind a new token to its ekm`;
    return new BoundConnectionError("ERR_BOUND_CONNECTION_CLOSED", this.origin, message, { cause: root });
  }

  #requestError(error: unknown, signal: AbortSignal): unknown {
    // The caller's abort (its own reason) or our timeout (a BoundConnectionError).
    if (signal.aborted) return signal.reason;
    if (error instanceof BoundConnectionError) return error;
    if (error instanceof BodyTooLargeError) {
      // Whether undici had already read the whole response or not, the server broke the
      // caller's contract: close deterministically rather than keep a connection whose
      // state depends on timing.
      this.#socket.destroy();
      return new BoundConnectionError(
        "ERR_RESPONSE_TOO_LARGE",
        this.origin,
        `The response from ${this.origin} is larger than maxResponseBytes (${error.limitBytes} bytes); the connection is closed`,
        { limitBytes: error.limitBytes },
      );
    }
    const code = String((error as { code?: unknown } | null)?.code ?? "");
    if (CONNECTION_GONE.test(code) || this.#closeCalled) return this.#closedError(error);
    return new BoundConnectionError(
      "ERR_REQUEST_FAILED",
      this.origin,
      `The request to ${this.origin} failed${code === "" ? "" : ` (${code})`}${this.closed ? "; the connection is closed" : ""}`,
      { cause: error },
    );
  }
}

function createBoundResponse(statusCode: number, headers: IncomingHttpHeaders, body: Buffer): BoundResponse {
  return {
    statusCode,
    headers,
    body,
    text: () => body.toString("utf8"),
    json: <T>() => JSON.parse(body.toString("utf8")) as T,
  };
}
