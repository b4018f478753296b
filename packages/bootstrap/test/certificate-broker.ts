// Test-only: a stand-in for the token broker's certificate provider (until the real one
// is wired into these tests): TLS 1.3 on the test PKI, it signs each CSR with the PKI's CA
// through openssl and answers as protocol v1 does, or with whatever a test sets.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestPki, type TestPki } from "@confspace/testing";

export const GRANT = "openbao-a";

export interface CertificateBroker {
  url: string;
  pki: TestPki;
  /** Request bodies received, in order. */
  requests: Array<Record<string, unknown>>;
  /** Override the next answers: each call takes one; empty = sign. */
  answers: Array<{ status: number; body: unknown }>;
  refreshInSeconds: number;
  close(): Promise<void>;
}

export async function startCertificateBroker(): Promise<CertificateBroker> {
  const pki = await createTestPki();
  const dir = mkdtempSync(join(tmpdir(), "confspace-cert-broker-"));
  let serial = 0;
  const sign = (csr: string): string => {
    serial += 1;
    const base = join(dir, `req-${serial}`);
    writeFileSync(`${base}.csr`, csr);
    writeFileSync(
      `${base}.ext`,
      `basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:urn:confspace:grant:${GRANT}\n`,
    );
    execFileSync(
      "/usr/bin/openssl",
      [
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        pki.caPath,
        "-CAkey",
        join(pki.dir, "ca.key"),
        "-set_serial",
        String(100 + serial),
        "-days",
        "1",
        "-extfile",
        `${base}.ext`,
        "-out",
        `${base}.pem`,
      ],
      { stdio: "ignore" },
    );
    return readFileSync(`${base}.pem`, "utf8");
  };
  const broker: CertificateBroker = {
    url: "",
    pki,
    requests: [],
    answers: [],
    refreshInSeconds: 600,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
      await pki.cleanup();
    },
  };
  const server: Server = createServer(
    { key: pki.serverKeyPem, cert: pki.serverCertPem, minVersion: "TLSv1.3" },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        broker.requests.push(body);
        const override = broker.answers.shift();
        const { status, body: out } = override ?? {
          status: 200,
          body: {
            certificate: sign(String(body.csr)),
            ca_certificate: pki.caPem,
            expiration: new Date(Date.now() + 86_400_000).toISOString(),
            refresh_in: broker.refreshInSeconds,
            grant: GRANT,
          },
        };
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(out));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  broker.url = `https://localhost:${(server.address() as AddressInfo).port}`;
  return broker;
}
