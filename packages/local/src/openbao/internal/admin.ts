// Plain Node HTTP(S) requests for the helper's own setup calls (init, unseal, mounts) and
// the setup code's: with the test PKI's client certificate when the listener demands one.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface AdminTls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface AdminResponse {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** One request to `${address}/v1/${path}`; resolves with any status, rejects only when no answer came. */
export function adminRequest(
  address: string,
  tls: AdminTls | undefined,
  request: { method: string; path: string; token?: string; namespace?: string; body?: unknown },
): Promise<AdminResponse> {
  const url = new URL(`/v1/${request.path.replace(/^\/+/, "")}`, address);
  const payload =
    request.body === undefined
      ? undefined
      : typeof request.body === "string"
        ? request.body
        : JSON.stringify(request.body);
  const headers: Record<string, string> = {};
  if (request.token !== undefined) headers["x-vault-token"] = request.token;
  if (request.namespace !== undefined) headers["x-vault-namespace"] = request.namespace;
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const options = { method: request.method, headers, timeout: 10_000, agent: false as const };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, { ...options, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
        : httpRequest(url, options);
    req.on("timeout", () => req.destroy(new Error(`${request.method} ${url.pathname}: no answer within 10 s`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown> | undefined;
        try {
          body = text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          body = { raw: text };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.end(payload);
  });
}
