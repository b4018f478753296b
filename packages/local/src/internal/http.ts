import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** Largest request body any local server reads; bigger bodies get 413 (bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Thrown by {@link readBody} when the body exceeds {@link MAX_BODY_BYTES}. */
export class BodyTooLargeError extends Error {
  constructor() {
    super(`request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
}

/** Reads the whole request body as UTF-8, refusing more than {@link MAX_BODY_BYTES}. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** True when the request declares `application/x-www-form-urlencoded` (parameters ignored). */
export function isFormEncoded(req: IncomingMessage): boolean {
  const type = req.headers["content-type"] ?? "";
  return type.split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/** Sends `body` as JSON with the given status and extra headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
    "cache-control": "no-store",
    pragma: "no-cache",
    ...headers,
  });
  res.end(payload);
}

/** Listens on 127.0.0.1 with an OS-assigned port and resolves with that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes the server and every open (including idle keep-alive) connection; safe to call twice. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** A request handler of a local server; a rejection is answered by `onError`. */
export type LocalHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Options of {@link serveOnLoopback}. */
export interface ServeOptions {
  /** Answers a request whose handler threw (in the vendor's 500 format); not called once headers went out: the socket is destroyed. */
  onError(res: ServerResponse, error: unknown): void;
  /** Serve HTTPS with this certificate and key (PEM). Default: plain HTTP. */
  tls?: { cert: string; key: string };
}

/**
 * Starts `handle` on 127.0.0.1 with an OS-assigned port: the start-up every local server
 * shares. `close` stops listening and closes open connections.
 */
export async function serveOnLoopback(
  handle: LocalHandler,
  options: ServeOptions,
): Promise<{ port: number; close: () => Promise<void> }> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else options.onError(res, error);
    });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  const port = await listenOnLoopback(server);
  return { port, close: () => closeServer(server) };
}
