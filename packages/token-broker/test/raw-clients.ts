// Clients that misbehave on purpose, for the connection-limit and flood tests: bare TCP
// connections that never start TLS, TLS connections that trickle their headers, and
// plain https requests from a chosen loopback source address (127.0.0.0/8 is all
// loopback on Linux, so each test can play several "sources").
import { request as httpsRequest } from "node:https";
import { type Socket, connect as tcpConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

/** A TCP connection from `localAddress` that sends nothing; resolves once connected (or closed at once). */
export function openIdle(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port, localAddress });
    socket.on("error", () => {});
    socket.once("connect", () => resolve(socket));
    socket.once("close", () => resolve(socket));
  });
}

/** Milliseconds until `socket` closes, or `undefined` if it is still open after `limitMs`. */
export function closesWithin(socket: Socket, limitMs: number): Promise<number | undefined> {
  const started = Date.now();
  if (socket.destroyed || socket.closed) return Promise.resolve(0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), limitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** A TLS 1.3 connection that completes its handshake; resolves once secure (or closed). */
export function openTls(port: number, ca: string, localAddress = "127.0.0.1"): Promise<TLSSocket> {
  return new Promise((resolve) => {
    const tcp = tcpConnect({ host: "127.0.0.1", port, localAddress });
    tcp.on("error", () => {});
    const socket = tlsConnect({
      socket: tcp,
      ca,
      servername: "localhost",
      minVersion: "TLSv1.3",
      ALPNProtocols: ["http/1.1"],
    });
    socket.on("error", () => {});
    socket.once("secureConnect", () => resolve(socket));
    socket.once("close", () => resolve(socket));
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface PostOptions {
  ca: string;
  localAddress?: string;
  body?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
}

/** One https request on its own connection, from `localAddress`. Rejects on a connection error. */
export function post(url: string, options: PostOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(options.path ?? "/v1/token", url),
      {
        method: options.method ?? "POST",
        ca: options.ca,
        servername: "localhost",
        agent: false,
        localAddress: options.localAddress ?? "127.0.0.1",
        headers: { "content-type": "application/json", ...options.headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body ?? "");
  });
}

/** A garbage-token request body (not even a JWT). */
export const GARBAGE = JSON.stringify({
  attestation_token: "not.a.token",
  provider: "azure",
  scope: "https://storage.azure.com/.default",
});
