// Test-only helpers: throwaway certificates and loopback TLS servers. Keys live in a
// temporary directory for the duration of a test file and are never committed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";

export const OPENSSL = "/usr/bin/openssl";

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
  certPath: string;
  keyPath: string;
}

export interface TestPki {
  /** Self-signed `CN=localhost` certificate, SAN `DNS:localhost, IP:127.0.0.1`. */
  server: KeyPair;
  /** A second, unrelated self-signed certificate (for "untrusted server" tests). */
  other: KeyPair;
  /** Self-signed `CN=workload` client certificate for mTLS. */
  client: KeyPair;
  dispose(): void;
}

function selfSigned(dir: string, name: string, subject: string, san?: string): KeyPair {
  const keyPath = join(dir, `${name}-key.pem`);
  const certPath = join(dir, `${name}-cert.pem`);
  const args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-days", "2"];
  if (san !== undefined) args.push("-addext", `subjectAltName=${san}`);
  args.push("-keyout", keyPath, "-out", certPath);
  execFileSync(OPENSSL, args, { stdio: "ignore", timeout: 20_000 });
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, keyPath };
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "confspace-ekm-"));
  return {
    server: selfSigned(dir, "server", "/CN=localhost", "DNS:localhost,IP:127.0.0.1"),
    other: selfSigned(dir, "other", "/CN=localhost", "DNS:localhost,IP:127.0.0.1"),
    client: selfSigned(dir, "client", "/CN=workload"),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TestServer {
  server: HttpsServer;
  /** `https://localhost:PORT` */
  url: string;
  port: number;
  /** Every TLS connection accepted so far, in order. */
  connections: TLSSocket[];
  close(): Promise<void>;
}

/** A loopback https server on port 0 that counts its TLS connections. */
export async function startHttpsServer(
  options: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server = createHttpsServer(options, handler);
  const connections: TLSSocket[] = [];
  server.on("secureConnection", (socket: TLSSocket) => connections.push(socket));
  // Rejected handshakes (TLS 1.2 vs 1.3, missing client certificate) are expected here.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `https://localhost:${port}`,
    port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits for `predicate` to hold, polling every 10 ms, for at most `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
