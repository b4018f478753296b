import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki, waitFor } from "../test/tls-fixtures.js";
import { EkmArgumentError, EkmError } from "./errors.js";
import { exportKeyingMaterial } from "./export-keying-material.js";

const label = "EXPERIMENTAL-confspace-test";
let pki: TestPki;
let server: Server;
let port: number;
const serverSockets: TLSSocket[] = [];
const clients: TLSSocket[] = [];

beforeAll(async () => {
  pki = createTestPki();
  // Accepts TLS 1.2 and 1.3, so the client picks the version.
  server = createServer({ key: pki.server.key, cert: pki.server.cert, minVersion: "TLSv1.2" }, (socket) => {
    serverSockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  for (const socket of clients.splice(0)) socket.destroy();
});

afterAll(async () => {
  for (const socket of serverSockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  pki.dispose();
});

function open(maxVersion: "TLSv1.2" | "TLSv1.3"): TLSSocket {
  const socket = connect({ host: "127.0.0.1", port, ca: pki.server.cert, servername: "localhost", maxVersion });
  socket.on("error", () => {});
  clients.push(socket);
  return socket;
}

async function established(
  maxVersion: "TLSv1.2" | "TLSv1.3" = "TLSv1.3",
): Promise<{ client: TLSSocket; peer: TLSSocket }> {
  const before = serverSockets.length;
  const client = open(maxVersion);
  await once(client, "secureConnect");
  // The server side may lag a moment behind the client's secureConnect.
  await waitFor(() => serverSockets.length > before);
  return { client, peer: serverSockets.at(-1)! };
}

describe("exportKeyingMaterial on real TLS sockets", () => {
  it("gives both ends of a TLS 1.3 connection the same bytes", async () => {
    const { client, peer } = await established();
    const mine = exportKeyingMaterial(client, { label, context: "ctx" });
    expect(mine).toHaveLength(32);
    expect(exportKeyingMaterial(peer, { label, context: "ctx" })).toEqual(mine);
  });

  it("returns the requested length", async () => {
    const { client } = await established();
    expect(exportKeyingMaterial(client, { label, length: 255 })).toHaveLength(255);
    expect(exportKeyingMaterial(client, { label, length: 1 })).toHaveLength(1);
  });

  it("treats no context and an empty context alike on TLS 1.3", async () => {
    const { client } = await established();
    const none = exportKeyingMaterial(client, { label });
    expect(exportKeyingMaterial(client, { label, context: "" })).toEqual(none);
    expect(exportKeyingMaterial(client, { label, context: Buffer.alloc(0) })).toEqual(none);
  });

  it("encodes a string context as UTF-8", async () => {
    const { client } = await established();
    expect(exportKeyingMaterial(client, { label, context: "aud-ü" })).toEqual(
      exportKeyingMaterial(client, { label, context: Buffer.from("aud-ü", "utf8") }),
    );
  });

  it("gives different bytes for a different label or context", async () => {
    const { client } = await established();
    const base = exportKeyingMaterial(client, { label, context: "a" });
    expect(exportKeyingMaterial(client, { label, context: "b" })).not.toEqual(base);
    expect(exportKeyingMaterial(client, { label: `${label}-2`, context: "a" })).not.toEqual(base);
  });

  it("refuses before the handshake with ERR_TLS_STATE", () => {
    const socket = open("TLSv1.3");
    expect(() => exportKeyingMaterial(socket, { label })).toThrow(
      expect.objectContaining({ name: "EkmError", code: "ERR_TLS_STATE" }),
    );
  });

  it("refuses on a destroyed socket with ERR_TLS_STATE", async () => {
    const { client } = await established();
    client.destroy();
    const error = catchError(() => exportKeyingMaterial(client, { label }));
    expect(error).toBeInstanceOf(EkmError);
    expect(error).toMatchObject({ code: "ERR_TLS_STATE" });
  });

  it("refuses TLS 1.2 with ERR_TLS_VERSION, naming the protocol", async () => {
    const { client, peer } = await established("TLSv1.2");
    expect(client.getProtocol()).toBe("TLSv1.2");
    for (const socket of [client, peer]) {
      const error = catchError(() => exportKeyingMaterial(socket, { label }));
      expect(error).toBeInstanceOf(EkmError);
      expect(error).toMatchObject({ code: "ERR_TLS_VERSION", protocol: "TLSv1.2" });
      expect((error as Error).message).toContain("TLS 1.3 is required");
    }
  });

  it("validates options before touching the socket", async () => {
    const { client } = await established();
    expect(() => exportKeyingMaterial(client, { label: "master secret" })).toThrow(EkmArgumentError);
    expect(() => exportKeyingMaterial({} as TLSSocket, { label })).toThrow(
      expect.objectContaining({ code: "ERR_EKM_INVALID_ARGUMENT", argument: "socket" }),
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
