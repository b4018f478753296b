// Test-only: a throwaway workload CA made by openssl, standing in for the token broker's
// certificate provider, so the workload side is tested against certificates it did not make.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPENSSL } from "./tls-fixtures.js";

export interface SignOptions {
  /** subjectAltName, default `URI:urn:confspace:grant:GRANT,URI:urn:confspace:workload:test`. */
  san?: string;
  /** extendedKeyUsage, default `clientAuth`; `""` leaves the extension out. */
  eku?: string;
  /** basicConstraints, default `critical,CA:false`. */
  basicConstraints?: string;
  /** keyUsage, default `critical,digitalSignature`. */
  keyUsage?: string;
  days?: number;
}

export interface WorkloadCa {
  caPem: string;
  caCertPath: string;
  caKeyPath: string;
  /** Signs a CSR (PEM) like the broker would, with the given deviations. */
  sign(csrPem: string, options?: SignOptions): string;
  /** Another, unrelated CA. */
  otherCaPem: string;
  otherSign(csrPem: string): string;
  dispose(): void;
}

export const GRANT = "openbao-a";

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(OPENSSL, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], { stdio: "ignore" });
  execFileSync(
    OPENSSL,
    [
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      `/CN=${name}`,
      "-days",
      "2",
      "-out",
      cert,
      "-addext",
      "basicConstraints=critical,CA:true",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

export function createWorkloadCa(): WorkloadCa {
  const dir = mkdtempSync(join(tmpdir(), "confspace-workload-ca-"));
  const ca = makeCa(dir, "workload-ca");
  const other = makeCa(dir, "other-ca");
  let serial = 0;
  const signWith = (issuer: { cert: string; key: string }, csrPem: string, options: SignOptions = {}) => {
    serial += 1;
    const csr = join(dir, `req-${serial}.csr`);
    const ext = join(dir, `req-${serial}.ext`);
    const out = join(dir, `req-${serial}.pem`);
    writeFileSync(csr, csrPem);
    writeFileSync(
      ext,
      [
        `basicConstraints=${options.basicConstraints ?? "critical,CA:false"}`,
        `keyUsage=${options.keyUsage ?? "critical,digitalSignature"}`,
        ...(options.eku === "" ? [] : [`extendedKeyUsage=${options.eku ?? "clientAuth"}`]),
        `subjectAltName=${options.san ?? `URI:urn:confspace:grant:${GRANT},URI:urn:confspace:workload:test`}`,
        "",
      ].join("\n"),
    );
    execFileSync(
      OPENSSL,
      [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        issuer.cert,
        "-CAkey",
        issuer.key,
        "-set_serial",
        String(1000 + serial),
        "-days",
        String(options.days ?? 1),
        "-extfile",
        ext,
        "-subj",
        `/CN=${GRANT}`,
        "-out",
        out,
      ],
      { stdio: "ignore" },
    );
    return readFileSync(out, "utf8");
  };
  return {
    caPem: readFileSync(ca.cert, "utf8"),
    caCertPath: ca.cert,
    caKeyPath: ca.key,
    sign: (csrPem, options) => signWith(ca, csrPem, options),
    otherCaPem: readFileSync(other.cert, "utf8"),
    otherSign: (csrPem) => signWith(other, csrPem),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
