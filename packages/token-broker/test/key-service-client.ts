// A minimal mTLS HTTP client for the key service's tests (node:https, one connection per
// request, so every request makes its own handshake with the certificate it is given).
import { request } from "node:https";
import type { ClientPair } from "./key-service-pki.js";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: JSON replies are probed field by field.
  body: any;
}

export interface CallOptions {
  method?: string;
  /** A body already serialized (sent as it is), or a value sent as JSON. Default none. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The client certificate; none: connect without one. */
  client?: ClientPair;
}

/** One request to `url` + `path`, trusting `caPem` for the server. Rejects on a TLS failure. */
export function call(url: string, caPem: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method: options.method ?? "PUT",
        ca: caPem,
        agent: false,
        ...(options.client === undefined ? {} : { cert: options.client.cert, key: options.client.key }),
        headers: { ...(body === undefined ? {} : { "content-length": Buffer.byteLength(body) }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON: the test sees the text.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
