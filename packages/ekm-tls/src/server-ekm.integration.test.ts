import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { connect as connectHttp2, createSecureServer, type Http2SecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, startHttpsServer, type TestPki } from "../test/tls-fixtures.js";
import { connectBound } from "./connect-bound.js";
import type { EkmError } from "./errors.js";
import { exportKeyingMaterial } from "./export-keying-material.js";
import { requestKeyingMaterial, type ServerRequestLike } from "./server-ekm.js";

const label = "EXPERIMENTAL-confspace-server";
let pki: TestPki;

beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.dispose());

/** Runs `requestKeyingMaterial` and reports its bytes (hex) or its error as JSON. */
function outcome(req: ServerRequestLike, context?: string): string {
  try {
    return JSON.stringify({ ekm: requestKeyingMaterial(req, { label, context }).toString("hex") });
  } catch (error) {
    const { name, code, protocol } = error as EkmError;
    return JSON.stringify({ error: { name, code, protocol } });
  }
}

describe("requestKeyingMaterial with node:https", () => {
  it("refuses a TLS 1.2 request with ERR_TLS_VERSION", async () => {
    // The server allows TLS 1.2; the client insists on it.
    const server = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, minVersion: "TLSv1.2" },
      (req, res) => res.end(outcome(req)),
    );
    try {
      const socket = connectTls({
        host: "127.0.0.1",
        port: server.port,
        ca: pki.server.cert,
        servername: "localhost",
        maxVersion: "TLSv1.2",
      });
      await once(socket, "secureConnect");
      expect(socket.getProtocol()).toBe("TLSv1.2");
      socket.end("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString().split("\r\n\r\n")[1] ?? "";
      expect(JSON.parse(body)).toEqual({ error: { name: "EkmError", code: "ERR_TLS_VERSION", protocol: "TLSv1.2" } });
    } finally {
      await server.close();
    }
  });

  it("refuses a request that did not arrive over TLS with ERR_TLS_STATE", async () => {
    const server = createHttpServer((req, res) => res.end(outcome(req)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.json()).toEqual({ error: { name: "EkmError", code: "ERR_TLS_STATE", protocol: null } });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses once the request's socket is destroyed with ERR_TLS_STATE", async () => {
    let captured: IncomingMessage | undefined;
    const server = await startHttpsServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
      captured = req;
      res.end();
    });
    try {
      const conn = await connectBound(server.url, { label, tls: { ca: pki.server.cert } });
      await conn.request({ path: "/" });
      await conn.close();
      captured?.socket.destroy();
      expect(() => requestKeyingMaterial(captured!, { label })).toThrow(
        expect.objectContaining({ code: "ERR_TLS_STATE" }),
      );
    } finally {
      await server.close();
    }
  });
});

describe("requestKeyingMaterial with node:http2", () => {
  let server: Http2SecureServer;
  let origin: string;
  beforeAll(async () => {
    server = createSecureServer({ key: pki.server.key, cert: pki.server.cert, minVersion: "TLSv1.3" });
    server.on("request", (req, res) => {
      // The compatibility API: req.stream.session.socket.
      res.end(outcome(req, req.headers["x-context"] as string | undefined));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("gives the compatibility API and the stream the same bytes as the client's end", async () => {
    const session = connectHttp2(origin, { ca: pki.server.cert, minVersion: "TLSv1.3" });
    try {
      await once(session, "connect");
      const fromStream = new Promise<string>((resolve) => {
        server.once("stream", (stream) => resolve(outcome(stream, "ctx")));
      });
      const req = session.request({ ":path": "/", "x-context": "ctx" });
      req.setEncoding("utf8");
      let body = "";
      for await (const chunk of req) body += chunk;
      // The client's own end of the same connection.
      const clientSide = session.socket as TLSSocket;
      const expected = exportKeyingMaterial(clientSide, { label, context: "ctx" }).toString("hex");
      expect(JSON.parse(body)).toEqual({ ekm: expected });
      expect(JSON.parse(await fromStream)).toEqual({ ekm: expected });
    } finally {
      session.close();
    }
  });
});
