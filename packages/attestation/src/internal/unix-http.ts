import type { Clock } from "@confspace/core";

/** One plain HTTP/1.1 request over a Unix socket. */
export interface UnixHttpRequest {
  socketPath: string;
  method: "GET" | "POST";
  path: string;
  /** JSON body, sent with `Content-Type: application/json`. */
  body?: string;
  /** Whole-request deadline in ms: connect, send, and read the reply. */
  timeoutMs: number;
  /** Bytes of reply body kept; more marks the reply `overflow` and stops reading. */
  maxBodyBytes: number;
  signal?: AbortSignal;
  clock: Clock;
}

export interface UnixHttpResponse {
  status: number;
  body: string;
  /** The body was longer than `maxBodyBytes`; `body` holds the first `maxBodyBytes`. */
  overflow: boolean;
}

/** Raised when the deadline passes; tells a timeout apart from the socket's own errors. */
export class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no complete reply within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
  }
}

/**
 * Sends one request (no keep-alive: the launcher's server is local and a fresh
 * connection per request keeps failures independent). Rejects with the socket's error
 * (`ENOENT`, `ECONNREFUSED`, `ECONNRESET`…), a {@link RequestTimeoutError}, or the
 * signal's reason.
 */
export function unixHttpRequest(options: UnixHttpRequest): Promise<UnixHttpResponse> {
  const { signal, clock } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let settled = false;
    const headers: Record<string, string | number> = { Host: "localhost", Accept: "*/*" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(options.body, "utf8");
    }
    // node:http on first use, not at import: it is most of this package's import cost.
    const req = process.getBuiltinModule("node:http").request({
      socketPath: options.socketPath,
      host: "localhost",
      method: options.method,
      path: options.path,
      headers,
      agent: false,
    });
    const finish = (error: unknown, response?: UnixHttpResponse) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (response) resolve(response);
      else reject(error);
    };
    const onAbort = () => {
      finish(signal?.reason);
      req.destroy();
    };
    const timer = clock.setTimeout(() => {
      const error = new RequestTimeoutError(options.timeoutMs);
      finish(error);
      req.destroy(error);
    }, options.timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    req.on("error", (error) => finish(error));
    req.on("close", () =>
      finish(Object.assign(new Error("connection closed before a complete reply"), { code: "ECONNRESET" })),
    );
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (settled) return;
        const room = options.maxBodyBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          finish(undefined, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            overflow: true,
          });
          req.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on("end", () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          overflow: false,
        }),
      );
      res.on("error", (error) => finish(error));
    });
    req.end(options.body);
  });
}
