import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type OpensslProcess, spawnOpenssl } from "../test/openssl-process.js";
import { createTestPki, startHttpsServer, type TestPki } from "../test/tls-fixtures.js";
import { BROKER_EKM_LABEL, BROKER_EKM_LENGTH } from "./broker-binding.js";
import { connectBound } from "./connect-bound.js";
import { requestKeyingMaterial } from "./server-ekm.js";

// openssl has no context argument: it exports with no context, which TLS 1.3 treats as
// an empty one, so both forms are compared against it.
const KEYING_MATERIAL = /Keying material: ([0-9A-F]+)/;

let pki: TestPki;
const processes: OpensslProcess[] = [];

beforeAll(() => {
  pki = createTestPki();
});
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});
afterAll(() => pki.dispose());

describe("EKM agrees with openssl", () => {
  it.each([
    ["no context", undefined],
    ["an empty context", ""],
  ])("connectBound's ekm equals openssl s_server's keying material (%s)", async (_name, context) => {
    // -accept 127.0.0.1:0 lets the kernel pick the port; s_server prints it as "ACCEPT host:port".
    const server = spawnOpenssl([
      "s_server",
      "-tls1_3",
      "-keymatexport",
      BROKER_EKM_LABEL,
      "-keymatexportlen",
      String(BROKER_EKM_LENGTH),
      "-cert",
      pki.server.certPath,
      "-key",
      pki.server.keyPath,
      "-accept",
      "127.0.0.1:0",
      "-naccept",
      "1",
    ]);
    processes.push(server);
    const [, port] = await server.match(/ACCEPT 127\.0\.0\.1:(\d+)/);

    const conn = await connectBound(`https://localhost:${port}`, {
      label: BROKER_EKM_LABEL,
      context,
      length: BROKER_EKM_LENGTH,
      tls: { ca: pki.server.cert },
    });
    try {
      const [, hex] = await server.match(KEYING_MATERIAL);
      expect(hex).toHaveLength(BROKER_EKM_LENGTH * 2);
      expect(conn.ekm.toString("hex").toUpperCase()).toBe(hex);
    } finally {
      await conn.close();
    }
  });

  it("requestKeyingMaterial equals openssl s_client's keying material, with no and with an empty context", async () => {
    const server = await startHttpsServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
      const none = requestKeyingMaterial(req, { label: BROKER_EKM_LABEL });
      const empty = requestKeyingMaterial(req, { label: BROKER_EKM_LABEL, context: Buffer.alloc(0) });
      res.setHeader("connection", "close");
      res.end(`ekm=${none.toString("hex").toUpperCase()};empty=${empty.toString("hex").toUpperCase()};`);
    });
    try {
      const client = spawnOpenssl([
        "s_client",
        "-tls1_3",
        "-keymatexport",
        BROKER_EKM_LABEL,
        "-keymatexportlen",
        String(BROKER_EKM_LENGTH),
        "-connect",
        `127.0.0.1:${server.port}`,
        "-servername",
        "localhost",
        "-CAfile",
        pki.server.certPath,
        "-verify_return_error",
        "-ign_eof",
      ]);
      processes.push(client);
      const [, hex] = await client.match(KEYING_MATERIAL);
      client.child.stdin.end("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      const [, none, empty] = await client.match(/ekm=([0-9A-F]+);empty=([0-9A-F]+);/);
      expect(hex).toHaveLength(BROKER_EKM_LENGTH * 2);
      expect(none).toBe(hex);
      expect(empty).toBe(hex);
      expect(client.output()).toContain("TLSv1.3");
    } finally {
      await server.close();
    }
  });
});
