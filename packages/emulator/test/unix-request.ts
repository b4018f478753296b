// Test helper: one HTTP/1.1 request over a Unix socket, the way a container talks to
// the launcher (`curl --unix-socket … http://localhost/v1/token`).
import { request } from "node:http";

export interface UnixResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function unixRequest(
  socketPath: string,
  options: { method?: string; path?: string; body?: string; signal?: AbortSignal } = {},
): Promise<UnixResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        host: "localhost",
        path: options.path ?? "/v1/token",
        method: options.method ?? "GET",
        headers: options.body === undefined ? {} : { "content-type": "application/json" },
        agent: false,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** `POST /v1/token` with a JSON body. */
export function postToken(socketPath: string, body: unknown): Promise<UnixResponse> {
  return unixRequest(socketPath, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
}
