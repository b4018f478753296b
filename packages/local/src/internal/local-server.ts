import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidOptionError } from "@confspace/core";

/**
 * The handle every local server of `@confspace/testing` returns: one fault vocabulary,
 * one request-log shape, `close()` and `await using`. Servers add their own endpoint
 * fields and extend {@link LocalRequest} with what they parse from a request.
 */
export interface LocalServer<Request extends LocalRequest = LocalRequest> {
  /** Every request so far, oldest first (faulted ones included). Never holds a secret or a token. */
  readonly requests: readonly Request[];
  /** The next matching request(s) get this reply instead of being handled (queued, consumed in order). */
  failNext(fault: LocalFault): void;
  /** The next matching request waits `ms` before it is handled or faulted (queued, one per request). */
  delayNext(ms: number, options?: LocalDelayOptions): void;
  /** Drops every queued fault and delay. */
  clearFaults(): void;
  /** Stops listening and closes open connections (child processes: stops them). Idempotent. */
  close(): Promise<void>;
  /** {@link LocalServer.close}, for `await using server = await startLocal…()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A reply injected in place of the next request(s). Without `body`, the server renders
 * `code` and `message` in its vendor's error format (AWS XML `Code`/`Message`, OAuth
 * `error`/`error_description`, Google `error.status`/`error.message`, Vault `errors`).
 */
export interface LocalFault {
  /** HTTP status, an integer 100–599. */
  status: number;
  /** Vendor error code (`Throttling`, `temporarily_unavailable`, `UNAVAILABLE`). Default: the server's code for `status`. */
  code?: string;
  /** Error message in the vendor format. Default `Injected fault.` */
  message?: string;
  /** A body sent verbatim instead of the vendor format: a string as is, anything else as JSON. */
  body?: string | object;
  /** Extra response headers, e.g. `{ "retry-after": "2" }`. */
  headers?: Readonly<Record<string, string>>;
  /** How many requests get it: a positive integer or `Infinity`. Default 1. */
  count?: number;
  /** Only requests whose path starts with this. Default: every request the server lets faults reach. */
  pathPrefix?: string;
}

/** Which requests {@link LocalServer.delayNext} holds back. */
export interface LocalDelayOptions {
  /** How many requests wait: a positive integer or `Infinity`. Default 1. */
  count?: number;
  /** Only requests whose path starts with this. Default: every request the server lets faults reach. */
  pathPrefix?: string;
}

/** One request as every local server records it; servers add their own parsed fields. */
export interface LocalRequest {
  /** HTTP method. */
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Request headers, names lower-case; credentials (authorization, tokens, cookies, keys) read `[redacted]`. */
  headers: Readonly<Record<string, string>>;
  /** When it arrived, ms since the epoch by the server's clock. */
  at: number;
  /** HTTP status of the reply (0 while it is being handled). */
  status: number;
  /** The vendor error code of a refusal (`AccessDenied`, `invalid_client`, `PERMISSION_DENIED`), else `undefined`. */
  error: string | undefined;
  /** True when an injected fault answered it. */
  fault: boolean;
}

/** A queued fault after validation. */
export interface QueuedFault {
  status: number;
  code: string | undefined;
  message: string;
  body: string | object | undefined;
  headers: Readonly<Record<string, string>>;
}

const FAULT_KEYS = new Set(["status", "code", "message", "body", "headers", "count", "pathPrefix"]);
const DELAY_KEYS = new Set(["count", "pathPrefix"]);

interface Entry<T> {
  value: T;
  remaining: number;
  pathPrefix: string;
}

/** Queued faults and delays of one server, consumed in order by matching requests. */
export class FaultQueue {
  readonly #faults: Entry<QueuedFault>[] = [];
  readonly #delays: Entry<number>[] = [];
  readonly #server: string;

  /** @param server names the server in errors, e.g. `startLocalEntra`. */
  constructor(server: string) {
    this.#server = server;
  }

  /** @throws {InvalidOptionError} naming the bad or unknown field. */
  failNext(fault: LocalFault): void {
    const what = `${this.#server} failNext()`;
    if (fault === null || typeof fault !== "object") throw new InvalidOptionError("fault", `${what}: pass { status }.`);
    for (const key of Object.keys(fault)) {
      if (!FAULT_KEYS.has(key)) throw new InvalidOptionError(key, `${what}: unknown option "${key}".`);
    }
    const { status, code, message, body, headers } = fault;
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new InvalidOptionError("status", `${what}: status must be an integer from 100 to 599.`);
    }
    if (code !== undefined && typeof code !== "string")
      throw new InvalidOptionError("code", `${what}: code must be a string.`);
    if (message !== undefined && typeof message !== "string") {
      throw new InvalidOptionError("message", `${what}: message must be a string.`);
    }
    if (body !== undefined && (body === null || !["string", "object"].includes(typeof body))) {
      throw new InvalidOptionError("body", `${what}: body must be a string or an object.`);
    }
    if (headers !== undefined && !Object.values(headers).every((v) => typeof v === "string")) {
      throw new InvalidOptionError("headers", `${what}: header values must be strings.`);
    }
    this.#faults.push({
      value: { status, code, message: message ?? "Injected fault.", body, headers: { ...headers } },
      ...this.#scope(what, fault),
    });
  }

  /** @throws {InvalidOptionError} naming the bad or unknown field. */
  delayNext(ms: number, options: LocalDelayOptions = {}): void {
    const what = `${this.#server} delayNext()`;
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidOptionError("ms", `${what}: ms must be a finite number ≥ 0.`);
    for (const key of Object.keys(options)) {
      if (!DELAY_KEYS.has(key)) throw new InvalidOptionError(key, `${what}: unknown option "${key}".`);
    }
    this.#delays.push({ value: ms, ...this.#scope(what, options) });
  }

  clearFaults(): void {
    this.#faults.length = 0;
    this.#delays.length = 0;
  }

  /** Consumes the first delay and the first fault that match `path`. */
  take(path: string): { delayMs: number; fault: QueuedFault | undefined } {
    return { delayMs: consume(this.#delays, path) ?? 0, fault: consume(this.#faults, path) };
  }

  #scope(what: string, options: LocalDelayOptions): { remaining: number; pathPrefix: string } {
    const count = options.count ?? 1;
    if (!(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count > 0))) {
      throw new InvalidOptionError("count", `${what}: count must be a positive integer or Infinity.`);
    }
    const pathPrefix = options.pathPrefix ?? "";
    if (typeof pathPrefix !== "string")
      throw new InvalidOptionError("pathPrefix", `${what}: pathPrefix must be a string.`);
    return { remaining: count, pathPrefix };
  }
}

function consume<T>(queue: Entry<T>[], path: string): T | undefined {
  const index = queue.findIndex((entry) => path.startsWith(entry.pathPrefix));
  if (index < 0) return undefined;
  const entry = queue[index]!;
  entry.remaining -= 1;
  if (entry.remaining <= 0) queue.splice(index, 1);
  return entry.value;
}

const SECRET_HEADER = /auth|token|secret|passw|credential|signature|session|cookie|key/i;

/** The request's headers with every credential-bearing one replaced by `[redacted]`. */
export function redactHeaders(headers: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADER.test(name) ? "[redacted]" : Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** The base record of a request that just arrived. */
export function newRequestRecord(req: IncomingMessage, at: number): LocalRequest {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return {
    method: req.method ?? "GET",
    path: query < 0 ? url : url.slice(0, query),
    headers: redactHeaders(req.headers),
    at,
    status: 0,
    error: undefined,
    fault: false,
  };
}

/** Sends a fault's verbatim body (string as is, else JSON), with its headers. */
export function sendVerbatimFault(res: ServerResponse, fault: QueuedFault & { body: string | object }): void {
  const text = typeof fault.body === "string" ? fault.body : JSON.stringify(fault.body);
  const type = typeof fault.body === "string" ? "text/plain; charset=utf-8" : "application/json; charset=utf-8";
  res.writeHead(fault.status, { "content-type": type, "content-length": Buffer.byteLength(text), ...fault.headers });
  res.end(text);
}

/** Waits `ms` (no timer for 0). */
export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/**
 * The shared part of a handle: `requests`, the fault methods, `close()` (once) and
 * `Symbol.asyncDispose`. Spread it into a server's own handle object.
 */
export function localServerHandle<Request extends LocalRequest>(
  requests: readonly Request[],
  faults: FaultQueue,
  stop: () => Promise<void>,
): LocalServer<Request> {
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= stop();
    return closing;
  };
  return {
    requests,
    failNext: (fault) => faults.failNext(fault),
    delayNext: (ms, options) => faults.delayNext(ms, options),
    clearFaults: () => faults.clearFaults(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
