import { createPrivateKey, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { existsSync, statSync } from "node:fs";
import { createServer as createHttpsServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { InvalidOptionError } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki, trustCaInProcess } from "./tls.js";

let pki: TestPki;

beforeAll(async () => {
  pki = await createTestPki();
});

afterAll(async () => {
  await pki?.cleanup();
});

/** GETs `/` on a new connection (no pooling, no session reuse) with a client certificate and no `ca` option. */
function get(port: number, host: string, client?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: "/", agent: false, servername: host === "localhost" ? host : undefined, ...client },
      (res) => {
        res.setEncoding("utf8");
        let body = "";
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("createTestPki", () => {
  it("issues a CA, a server certificate for the default hosts and a client certificate, all chained to the CA", () => {
    const ca = new X509Certificate(pki.caPem);
    const server = new X509Certificate(pki.serverCertPem);
    const client = new X509Certificate(pki.clientCertPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(client.checkIssued(ca) && client.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(server.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(client.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(client.subject).toBe("CN=confspace-test-client");
    expect(client.publicKey.asymmetricKeyType).toBe("rsa");
    expect(server.checkPrivateKey(createPrivateKey(pki.serverKeyPem))).toBe(true);
    expect(client.checkPrivateKey(createPrivateKey(pki.clientKeyPem))).toBe(true);
  });

  it("writes the files it returns the paths of inside a private temp directory", () => {
    expect(statSync(pki.dir).mode & 0o777).toBe(0o700);
    for (const path of [pki.caPath, pki.serverCertPath, pki.serverKeyPath, pki.clientCertPath, pki.clientKeyPath]) {
      expect(path.startsWith(pki.dir)).toBe(true);
      expect(existsSync(path)).toBe(true);
    }
  });

  it("honours custom hosts and refuses an empty list or a host that is neither a DNS name nor an IP", async () => {
    const custom = await createTestPki({ hosts: ["broker.test", "10.0.0.7"] });
    try {
      expect(new X509Certificate(custom.serverCertPem).subjectAltName).toBe("DNS:broker.test, IP Address:10.0.0.7");
    } finally {
      await custom.cleanup();
    }
    await expect(createTestPki({ hosts: ["bad host\n[v3]"] })).rejects.toThrow(InvalidOptionError);
    await expect(createTestPki({ hosts: [] })).rejects.toMatchObject({ code: "ERR_INVALID_OPTION", option: "hosts" });
  });

  it("cleanup removes the directory and can be called twice", async () => {
    const throwaway = await createTestPki();
    await throwaway.cleanup();
    await throwaway.cleanup();
    expect(existsSync(throwaway.dir)).toBe(false);
  });
});

describe("trustCaInProcess", () => {
  it("makes default-CA clients trust the test CA (mutual TLS 1.3 over localhost, 127.0.0.1 and ::1) until restored", async () => {
    const server = createHttpsServer(
      {
        cert: pki.serverCertPem,
        key: pki.serverKeyPem,
        ca: pki.caPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(peer.subject?.CN ?? "none");
      },
    );
    server.listen(0, "::");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    const client = { cert: pki.clientCertPem, key: pki.clientKeyPem };
    try {
      await expect(get(port, "localhost", client)).rejects.toThrow(/self-signed|unable to get local issuer/);
      const restore = trustCaInProcess(pki.caPem);
      try {
        for (const host of ["localhost", "127.0.0.1", "::1"]) {
          expect(await get(port, host, client)).toBe("confspace-test-client");
        }
      } finally {
        restore();
        restore();
      }
      await expect(get(port, "127.0.0.1", client)).rejects.toThrow(/self-signed|unable to get local issuer/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
