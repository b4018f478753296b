import type { IncomingMessage, ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestPki, startHttpsServer, type TestPki, type TestServer, waitFor } from "../test/tls-fixtures.js";
import type { BoundConnection } from "./bound-connection.js";
import { connectBound } from "./connect-bound.js";
import { BoundConnectionError, EkmArgumentError, EkmError } from "./errors.js";
import { requestKeyingMaterial } from "./server-ekm.js";

const label = "EXPERIMENTAL-confspace-test";
let pki: TestPki;

beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.dispose());

interface Seen {
  path: string;
  socket: TLSSocket;
}

/** Test routes: /ekm?context=…, /echo, /big?n=…&chunked, /slow, /destroy, /close. */
function routes(seen: Seen[], slow: ServerResponse[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "https://localhost");
    seen.push({ path: url.pathname, socket: req.socket as TLSSocket });
    switch (url.pathname) {
      case "/ekm": {
        const context = url.searchParams.get("context") ?? undefined;
        const ekm = requestKeyingMaterial(req, { label, context });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ekm: ekm.toString("hex"), remotePort: req.socket.remotePort }));
        return;
      }
      case "/echo": {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString() })));
        return;
      }
      case "/big": {
        const body = Buffer.alloc(Number(url.searchParams.get("n")), "x");
        if (url.searchParams.has("chunked")) {
          res.write(body.subarray(0, 10));
          res.end(body.subarray(10));
        } else {
          res.setHeader("content-length", body.length);
          res.end(body);
        }
        return;
      }
      case "/slow":
        slow.push(res);
        return;
      case "/destroy":
        req.socket.destroy();
        return;
      case "/close":
        res.setHeader("connection", "close");
        res.end("bye");
        return;
      default:
        res.statusCode = 404;
        res.end();
    }
  };
}

describe("connectBound against a TLS 1.3 https server", () => {
  let server: TestServer;
  let seen: Seen[];
  let slow: ServerResponse[];
  const open: BoundConnection[] = [];

  beforeEach(async () => {
    seen = [];
    slow = [];
    server = await startHttpsServer({ key: pki.server.key, cert: pki.server.cert }, routes(seen, slow));
  });
  afterEach(async () => {
    for (const res of slow) res.destroy();
    await Promise.all(open.splice(0).map((conn) => conn.close()));
    await server.close();
  });

  async function bind(context?: string, extra: Parameters<typeof connectBound>[1] | object = {}) {
    const conn = await connectBound(server.url, { label, context, tls: { ca: pki.server.cert }, ...extra });
    open.push(conn);
    return conn;
  }

  async function serverEkm(conn: BoundConnection, context?: string) {
    const res = await conn.request({ path: context === undefined ? "/ekm" : `/ekm?context=${context}` });
    expect(res.statusCode).toBe(200);
    return res.json<{ ekm: string; remotePort: number }>();
  }

  it("returns the EKM the server computes for the same label and context", async () => {
    const conn = await bind("aud-1");
    expect(conn.ekm).toHaveLength(32);
    expect((await serverEkm(conn, "aud-1")).ekm).toBe(conn.ekm.toString("hex"));
  });

  it("accepts tls.servername equal to the URL's host, or naming the certificate of a server reached by IP", async () => {
    const sameHost = await bind(undefined, { tls: { ca: pki.server.cert, servername: "LocalHost" } });
    expect((await serverEkm(sameHost)).ekm).toBe(sameHost.ekm.toString("hex"));
    const port = new URL(server.url).port;
    const byIp = await connectBound(`https://127.0.0.1:${port}`, {
      label,
      tls: { ca: pki.server.cert, servername: "localhost" },
    });
    open.push(byIp);
    expect((await serverEkm(byIp)).ekm).toBe(byIp.ekm.toString("hex"));
  });

  it("matches the server with no context too", async () => {
    const conn = await bind();
    expect((await serverEkm(conn)).ekm).toBe(conn.ekm.toString("hex"));
  });

  it("gives different connections different EKM", async () => {
    const [a, b] = [await bind("aud-1"), await bind("aud-1")];
    expect(a.ekm).not.toEqual(b.ekm);
  });

  it("gives a different context a different EKM on the same connection", async () => {
    const conn = await bind("aud-1");
    expect((await serverEkm(conn, "aud-2")).ekm).not.toBe(conn.ekm.toString("hex"));
  });

  it("sends every request on the one socket the EKM came from", async () => {
    const conn = await bind("aud-1");
    const ports = [];
    for (let i = 0; i < 3; i++) {
      const { ekm, remotePort } = await serverEkm(conn, "aud-1");
      expect(ekm).toBe(conn.ekm.toString("hex"));
      ports.push(remotePort);
    }
    expect(new Set(ports).size).toBe(1);
    expect(seen).toHaveLength(3);
    expect(seen.every((entry) => entry.socket === seen[0]?.socket)).toBe(true);
    expect(server.connections).toHaveLength(1);
  });

  it("queues concurrent requests on the one socket, answered in order", async () => {
    const conn = await bind();
    const bodies = await Promise.all(
      ["a", "b", "c"].map((body) => conn.request({ method: "POST", path: "/echo", body }).then((res) => res.json())),
    );
    expect(bodies.map((b) => (b as { body: string }).body)).toEqual(["a", "b", "c"]);
    expect(server.connections).toHaveLength(1);
    expect(new Set(seen.map((entry) => entry.socket)).size).toBe(1);
  });

  it("connects to an IP address, verifying it against the certificate's IP SAN", async () => {
    const conn = await connectBound(`https://127.0.0.1:${server.port}`, { label, tls: { ca: pki.server.cert } });
    open.push(conn);
    expect((await serverEkm(conn)).ekm).toBe(conn.ekm.toString("hex"));
  });

  it("sends method, headers and body, and parses text and JSON", async () => {
    const conn = await bind();
    const res = await conn.request({
      method: "POST",
      path: "/echo",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.json()).toEqual({ method: "POST", body: '{"a":1}' });
    expect(JSON.parse(res.text())).toEqual(res.json());
    expect(res.body).toBeInstanceOf(Buffer);
  });

  it("rejects the request the server drops, and every later one, without reconnecting", async () => {
    const conn = await bind();
    await conn.request({ path: "/echo" });
    await expect(conn.request({ path: "/destroy" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    expect(conn.closed).toBe(true);
    const error = await conn.request({ path: "/echo" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BoundConnectionError);
    expect(error).toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED", origin: server.url });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.connections).toHaveLength(1);
    expect(seen.map((entry) => entry.path)).toEqual(["/echo", "/destroy"]);
  });

  it("refuses requests once the server closes an idle connection, and opens no new one", async () => {
    const conn = await bind();
    await conn.request({ path: "/echo" });
    server.connections[0]?.destroy();
    // No waiting for the close to be noticed: the race must end in the same typed error.
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.connections).toHaveLength(1);
    expect(seen).toHaveLength(1);
  });

  it("refuses requests when the server closes before the first request", async () => {
    const conn = await bind();
    await waitFor(() => server.connections.length === 1);
    server.connections[0]?.destroy();
    await waitFor(() => conn.closed);
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    expect(server.connections).toHaveLength(1);
    expect(seen).toHaveLength(0);
  });

  it("refuses requests after a Connection: close response", async () => {
    const conn = await bind();
    expect((await conn.request({ path: "/close" })).text()).toBe("bye");
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    expect(server.connections).toHaveLength(1);
  });

  it("closes after idleTimeoutMs without requests, then refuses requests", async () => {
    const conn = await bind(undefined, { idleTimeoutMs: 50 });
    await conn.request({ path: "/echo" });
    await waitFor(() => conn.closed);
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    expect(server.connections).toHaveLength(1);
  });

  it("rejects an aborted request with the signal's reason", async () => {
    const conn = await bind();
    const controller = new AbortController();
    const pending = conn.request({ path: "/slow", signal: controller.signal });
    await waitFor(() => slow.length === 1);
    const reason = new Error("caller gave up");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    // The response could not be skipped, so the connection is gone; no new one is made.
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
    expect(server.connections).toHaveLength(1);
  });

  it("does not send a request whose signal is already aborted, and stays usable", async () => {
    const conn = await bind();
    await expect(conn.request({ path: "/echo", signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(seen).toHaveLength(0);
    expect((await conn.request({ path: "/echo" })).statusCode).toBe(200);
  });

  it("fails a request with ERR_REQUEST_TIMEOUT after timeoutMs", async () => {
    const conn = await bind();
    await expect(conn.request({ path: "/slow", timeoutMs: 100 })).rejects.toMatchObject({
      code: "ERR_REQUEST_TIMEOUT",
      timeoutMs: 100,
    });
  });

  it.each([
    ["with content-length", "/big?n=1001"],
    ["chunked", "/big?n=1001&chunked"],
  ])("refuses a response body over maxResponseBytes (%s)", async (_name, path) => {
    const conn = await bind(undefined, { maxResponseBytes: 1000 });
    await expect(conn.request({ path })).rejects.toMatchObject({ code: "ERR_RESPONSE_TOO_LARGE", limitBytes: 1000 });
    expect(conn.closed).toBe(true);
  });

  it("accepts a body of exactly maxResponseBytes, and a per-request limit overrides it", async () => {
    const conn = await bind(undefined, { maxResponseBytes: 1000 });
    expect((await conn.request({ path: "/big?n=1000&chunked" })).body).toHaveLength(1000);
    expect((await conn.request({ path: "/big?n=5000", maxResponseBytes: 5000 })).body).toHaveLength(5000);
  });

  it("caps response bodies at 1 MiB by default", async () => {
    const conn = await bind();
    await expect(conn.request({ path: `/big?n=${1024 * 1024 + 1}` })).rejects.toMatchObject({
      code: "ERR_RESPONSE_TOO_LARGE",
      limitBytes: 1024 * 1024,
    });
  });

  it("close() closes the socket, is idempotent and makes requests fail", async () => {
    const conn = await bind();
    await conn.request({ path: "/echo" });
    const serverSide = server.connections[0]!;
    await Promise.all([conn.close(), conn.close()]);
    expect(conn.closed).toBe(true);
    await waitFor(() => serverSide.destroyed);
    await expect(conn.request({ path: "/echo" })).rejects.toMatchObject({ code: "ERR_BOUND_CONNECTION_CLOSED" });
  });

  it("close() before any request closes the socket too", async () => {
    const conn = await bind();
    await waitFor(() => server.connections.length === 1);
    await conn.close();
    await waitFor(() => server.connections[0]!.destroyed);
    expect(seen).toHaveLength(0);
  });

  it("refuses a request path that is not absolute", async () => {
    const conn = await bind();
    for (const path of ["v1/token", "https://evil.example/", "//evil.example/x"]) {
      await expect(conn.request({ path })).rejects.toMatchObject({
        code: "ERR_EKM_INVALID_ARGUMENT",
        argument: "path",
      });
    }
    expect(seen).toHaveLength(0);
  });
});

describe("connectBound refuses what it cannot bind safely", () => {
  it("fails with ERR_TLS_VERSION against a TLS 1.2-only server", async () => {
    const server = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, maxVersion: "TLSv1.2" },
      (_req, res) => res.end(),
    );
    try {
      const error = await connectBound(server.url, { label, tls: { ca: pki.server.cert } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EkmError);
      expect(error).toMatchObject({ code: "ERR_TLS_VERSION" });
      expect((error as Error).message).toMatch(/TLS 1\.3/);
    } finally {
      await server.close();
    }
  });

  it("fails with ERR_CONNECT_FAILED when the server certificate is not trusted", async () => {
    const server = await startHttpsServer({ key: pki.other.key, cert: pki.other.cert }, (_req, res) => res.end());
    try {
      const error = await connectBound(server.url, { label, tls: { ca: pki.server.cert } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BoundConnectionError);
      expect(error).toMatchObject({ code: "ERR_CONNECT_FAILED", origin: server.url });
      expect((error as Error).cause).toMatchObject({ code: expect.stringMatching(/CERT|SIGNATURE|SELF_SIGNED/) });
    } finally {
      await server.close();
    }
  });

  it("fails with ERR_CONNECT_FAILED when nothing listens", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    await expect(connectBound(`https://127.0.0.1:${port}`, { label })).rejects.toMatchObject({
      code: "ERR_CONNECT_FAILED",
      cause: expect.objectContaining({ code: "ECONNREFUSED" }),
    });
  });

  describe("against a server that never answers the handshake", () => {
    let silent: TcpServer;
    let url: string;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      silent = createTcpServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      url = `https://localhost:${(silent.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it("fails with ERR_CONNECT_TIMEOUT after timeoutMs", async () => {
      await expect(connectBound(url, { label, timeoutMs: 100 })).rejects.toMatchObject({
        code: "ERR_CONNECT_TIMEOUT",
        timeoutMs: 100,
      });
    });

    it("rejects with the signal's reason when aborted", async () => {
      const controller = new AbortController();
      const pending = connectBound(url, { label, signal: controller.signal });
      await waitFor(() => sockets.length > 0);
      controller.abort(new Error("stop"));
      await expect(pending).rejects.toThrow("stop");
    });
  });

  describe("with mTLS required by the server", () => {
    let server: TestServer;
    const peers: string[] = [];
    beforeAll(async () => {
      server = await startHttpsServer(
        {
          key: pki.server.key,
          cert: pki.server.cert,
          ca: pki.client.cert,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          peers.push((req.socket as TLSSocket).getPeerCertificate().subject.CN as string);
          res.end(requestKeyingMaterial(req, { label }).toString("hex"));
        },
      );
    });
    afterAll(() => server.close());

    it("works with a client certificate, on the bound socket", async () => {
      const conn = await connectBound(server.url, {
        label,
        tls: { ca: pki.server.cert, cert: pki.client.cert, key: pki.client.key },
      });
      try {
        expect((await conn.request({ path: "/" })).text()).toBe(conn.ekm.toString("hex"));
        expect(peers).toEqual(["workload"]);
      } finally {
        await conn.close();
      }
    });

    it("fails without a client certificate: the first request carries the TLS alert, the server handles nothing", async () => {
      const before = peers.length;
      // TLS 1.3: the client finishes its handshake before the server checks its certificate,
      // so connecting succeeds and the server's alert closes the connection afterwards.
      const conn = await connectBound(server.url, { label, tls: { ca: pki.server.cert } });
      try {
        const error = await conn.request({ path: "/" }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(BoundConnectionError);
        expect(error).toMatchObject({
          code: "ERR_BOUND_CONNECTION_CLOSED",
          cause: expect.objectContaining({ code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" }),
        });
        expect(peers).toHaveLength(before);
      } finally {
        await conn.close();
      }
    });
  });

  it.each([
    ["an http: URL", "http://localhost:1", {}, "url"],
    ["a URL with a path", "https://localhost:1/v1/token", {}, "url"],
    ["a URL with credentials", "https://u:p@localhost:1", {}, "url"],
    ["not a URL", "localhost:1", {}, "url"],
    [
      "tls.rejectUnauthorized false",
      "https://localhost:1",
      { tls: { rejectUnauthorized: false } },
      "tls.rejectUnauthorized",
    ],
    [
      "tls.checkServerIdentity that accepts anything",
      "https://localhost:1",
      { tls: { checkServerIdentity: () => undefined } },
      "tls.checkServerIdentity",
    ],
    [
      "tls.servername naming another host",
      "https://localhost:1",
      { tls: { servername: "broker.other.example" } },
      "tls.servername",
    ],
    ["tls.servername an IP address", "https://127.0.0.1:1", { tls: { servername: "10.0.0.1" } }, "tls.servername"],
    ["tls.servername empty", "https://127.0.0.1:1", { tls: { servername: "" } }, "tls.servername"],
    ["tls.maxVersion TLSv1.2", "https://localhost:1", { tls: { maxVersion: "TLSv1.2" } }, "tls.maxVersion"],
    ["tls.minVersion TLSv1.2", "https://localhost:1", { tls: { minVersion: "TLSv1.2" } }, "tls.minVersion"],
    ["tls.host", "https://localhost:1", { tls: { host: "elsewhere" } }, "tls.host"],
    ["tls.socket", "https://localhost:1", { tls: { socket: {} } }, "tls.socket"],
    ["a reserved label", "https://localhost:1", { label: "key expansion" }, "label"],
    ["timeoutMs -1", "https://localhost:1", { timeoutMs: -1 }, "timeoutMs"],
    ["maxResponseBytes 1.5", "https://localhost:1", { maxResponseBytes: 1.5 }, "maxResponseBytes"],
  ])("refuses %s before connecting", async (_name, url, mutation, argument) => {
    const error = await connectBound(url, { label, ...mutation } as Parameters<typeof connectBound>[1]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EkmArgumentError);
    expect(error).toMatchObject({ code: "ERR_EKM_INVALID_ARGUMENT", argument });
  });

  it("rejects at once with the reason of an already aborted signal", async () => {
    const reason = new Error("already");
    await expect(connectBound("https://localhost:1", { label, signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });
});
