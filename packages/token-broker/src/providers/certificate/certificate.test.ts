// CSR checks and certificate signing against openssl: CSRs and CAs made by openssl, the
// issued certificates read back by `openssl x509`, `openssl verify` and node's X509Certificate.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerConfigError } from "../../errors.js";
import { type CertificateAuthority, loadCertificateAuthority } from "./ca.js";
import { MAX_CSR_LENGTH } from "./config.js";
import { CsrError, parseCsr } from "./csr.js";
import { signWorkloadCertificate } from "./sign-certificate.js";

let dir: string;
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
const file = (name: string) => readFileSync(join(dir, name), "utf8");

/** Makes a key with `genpkey` options and a CSR for it; returns the CSR's PEM. */
function csrFor(name: string, keyArgs: string[], reqArgs: string[] = []): string {
  openssl("genpkey", ...keyArgs, "-out", `${name}.key`);
  openssl("req", "-new", "-key", `${name}.key`, "-subj", "/CN=ignored", "-out", `${name}.csr`, ...reqArgs);
  return file(`${name}.csr`);
}

function makeCa(name: string, keyArgs: string[], extra: string[] = []): { cert: string; key: string } {
  openssl("genpkey", ...keyArgs, "-out", `${name}.key`);
  openssl(
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/O=confspace test/CN=${name}`,
    "-days",
    "2",
    "-out",
    `${name}.crt`,
    ...extra,
  );
  return { cert: file(`${name}.crt`), key: file(`${name}.key`) };
}

const P256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
const P384 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"];
const RSA = (bits: number) => ["-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`];
const CA_EXTENSIONS = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"];

const pems: Record<string, string> = {};
let ca: CertificateAuthority;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "confspace-cert-"));
  const { cert, key } = makeCa("ca", P256, CA_EXTENSIONS);
  ca = loadCertificateAuthority(cert, key, new Date());
  pems.p256 = csrFor("p256", P256, ["-addext", "subjectAltName=DNS:App.Example.com,DNS:api.example.com"]);
  pems.p384 = csrFor("p384", P384);
  pems.rsa2048 = csrFor("rsa2048", RSA(2048));
  pems.ed25519 = csrFor("ed25519", ["-algorithm", "ED25519"]);
  pems.rsa1024 = csrFor("rsa1024", RSA(1024));
  pems.rsaE3 = csrFor("rsaE3", [...RSA(2048), "-pkeyopt", "rsa_keygen_pubexp:3"]);
  pems.p192 = csrFor("p192", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-192"]);
  pems.secp256k1 = csrFor("k1", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"]);
  openssl("genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", "dsa.params");
  pems.dsa = csrFor("dsa", ["-paramfile", "dsa.params"]);
  pems.sha1 = csrFor("sha1", RSA(2048), ["-sha1"]);
  pems.uri = csrFor("uri", P256, ["-addext", "subjectAltName=URI:urn:confspace:grant:other"]);
  pems.ip = csrFor("ip", P256, ["-addext", "subjectAltName=IP:10.0.0.1"]);
  pems.email = csrFor("email", P256, ["-addext", "subjectAltName=email:a@example.com"]);
}, 60_000);
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The DER of a PEM block, and back. */
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
const csrPem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE REQUEST-----\n`;

describe("parseCsr", () => {
  it.each([
    ["p256", "EC P-256"],
    ["p384", "EC P-384"],
    ["rsa2048", "RSA 2048"],
    ["ed25519", "Ed25519"],
  ])("accepts an openssl %s CSR and reports its key", (name, description) => {
    const csr = parseCsr(pems[name] as string);
    expect(csr.keyDescription).toBe(description);
    const pubkey = execFileSync("openssl", ["req", "-in", "-", "-pubkey", "-noout"], { input: pems[name] as string });
    expect(csr.spki.toString("base64")).toBe(pubkey.toString().replace(/-----[^-]+-----|\s/g, ""));
  });

  it("returns the requested DNS names lower-cased", () => {
    expect(parseCsr(pems.p256 as string).dnsNames).toEqual(["app.example.com", "api.example.com"]);
    expect(parseCsr(pems.p384 as string).dnsNames).toEqual([]);
  });

  it.each([
    ["rsa1024", /1024-bit RSA key is not accepted \(2048–4096 bits\)/],
    ["rsaE3", /public exponent 65537/],
    ["p192", /EC curve prime192v1 is not accepted/],
    ["secp256k1", /EC curve secp256k1 is not accepted/],
    ["dsa", /DSA keys are not accepted/],
    ["sha1", /SHA-1 signatures are refused/],
    ["uri", /asks for a URI subjectAltName; only DNS names the grant lists/],
    ["ip", /asks for a IP address subjectAltName/],
    ["email", /asks for a email address subjectAltName/],
  ])("refuses the %s CSR", (name, message) => {
    expect(() => parseCsr(pems[name] as string)).toThrow(message);
  });

  const mutations: Array<[string, (pem: string) => string, RegExp]> = [
    ["an empty string", () => "", /one PEM block/],
    ["a certificate", () => ca.certificatePem, /one PEM block/],
    ["two CSRs", (pem) => pem + pem, /one PEM block/],
    ["text around the block", (pem) => `hello\n${pem}`, /one PEM block/],
    ["bad base64", (pem) => pem.replace(/\n[A-Za-z0-9+/]{8}/, "\n!!!!!!!!"), /one PEM block/],
    ["non-canonical base64", (pem) => pem.replace("-----END", "=\n-----END"), /not valid base64|PKCS #10/],
    ["an oversized PEM", (pem) => pem.replace("\n", `\n${"A".repeat(MAX_CSR_LENGTH)}\n`), /longer than 16384/],
    [
      "a flipped signature byte",
      (pem) => {
        const der = derOf(pem);
        der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01;
        return csrPem(der);
      },
      /signature does not verify/,
    ],
    [
      "a changed request byte",
      (pem) => {
        const der = derOf(pem);
        // Inside the subject's CN ("ignored"): still DER, no longer what was signed.
        const at = der.indexOf(Buffer.from("ignored"));
        der[at] = "I".charCodeAt(0);
        return csrPem(der);
      },
      /signature does not verify/,
    ],
    ["trailing bytes", (pem) => csrPem(Buffer.concat([derOf(pem), Buffer.from([0])])), /trailing bytes/],
    ["a truncated request", (pem) => csrPem(derOf(pem).subarray(0, 100)), /truncated/],
    [
      "an indefinite length",
      (pem) => {
        const der = derOf(pem);
        return csrPem(
          Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(der[1] === 0x81 ? 3 : 4), Buffer.from([0, 0])]),
        );
      },
      /indefinite lengths are not DER/,
    ],
    [
      "a non-minimal length",
      (pem) => {
        const der = derOf(pem);
        // 30 8n LEN → 30 8(n+1) 00 LEN: the same length with a leading zero octet.
        const octets = (der[1] as number) & 0x7f;
        return csrPem(Buffer.concat([Buffer.from([0x30, 0x81 + octets, 0x00]), der.subarray(2)]));
      },
      /non-minimal DER length/,
    ],
  ];
  it.each(mutations)("refuses %s", (_name, mutate, message) => {
    expect(() => parseCsr(mutate(pems.p256 as string))).toThrow(message);
  });

  it("says nothing of the CSR's contents in its errors", () => {
    const secretish = pems.uri as string;
    try {
      parseCsr(secretish);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CsrError);
      expect((error as Error).message).not.toContain("urn:confspace:grant:other");
    }
  });
});

describe("signWorkloadCertificate", () => {
  const issue = (authority: CertificateAuthority, pem: string, dnsNames: readonly string[] = []) => {
    const csr = parseCsr(pem);
    const now = Math.floor(Date.now() / 1000) * 1000;
    return signWorkloadCertificate(authority, {
      spki: csr.spki,
      grant: "openbao",
      workload: "confspace-emulator/us-central1-a/confspace-workload",
      dnsNames,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 600_000),
    });
  };

  it("issues a certificate openssl verifies as a TLS client certificate, with the fixed contents", () => {
    const leaf = issue(ca, pems.p256 as string, ["app.example.com"]);
    writeFileSync(join(dir, "leaf.crt"), leaf.pem);
    expect(openssl("verify", "-CAfile", "ca.crt", "-purpose", "sslclient", "leaf.crt").toString()).toBe(
      "leaf.crt: OK\n",
    );
    // Not usable as a server certificate or a CA.
    expect(() => openssl("verify", "-CAfile", "ca.crt", "-purpose", "sslserver", "leaf.crt")).toThrow();
    const text = openssl("x509", "-in", "leaf.crt", "-noout", "-text").toString();
    expect(text).toMatch(/Subject: CN ?= ?openbao\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: ?\n\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/X509v3 Subject Key Identifier/);
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    const x509 = new X509Certificate(leaf.pem);
    const caCert = new X509Certificate(ca.certificatePem);
    expect(x509.checkIssued(caCert)).toBe(true);
    expect(x509.verify(caCert.publicKey)).toBe(true);
    expect(x509.ca).toBe(false);
    expect(x509.subjectAltName).toBe(
      "URI:urn:confspace:grant:openbao, URI:urn:confspace:workload:confspace-emulator/us-central1-a/confspace-workload, DNS:app.example.com",
    );
    expect(x509.serialNumber.length).toBeGreaterThanOrEqual(30);
    expect(x509.publicKey.export({ format: "der", type: "spki" })).toEqual(parseCsr(pems.p256 as string).spki);
    // The authority key identifier is the CA's subject key identifier.
    const caText = openssl("x509", "-in", "ca.crt", "-noout", "-text").toString();
    const ski = /X509v3 Subject Key Identifier: ?\n\s+([0-9A-F:]+)/.exec(caText)?.[1];
    const aki = /X509v3 Authority Key Identifier: ?\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
    expect(ski).toMatch(/^[0-9A-F:]{59}$/);
    expect(aki).toBe(ski);
  });

  it("issues certificates python cryptography's strict DER parser reads and verifies", () => {
    // An independent X.509 implementation (pyca/cryptography, Rust; from scripts/tools.sh's venv).
    const python = join(import.meta.dirname, "../../../../../.tools/venv/bin/python");
    const script = [
      "import sys, json",
      "from cryptography import x509",
      "from cryptography.x509.oid import ExtendedKeyUsageOID",
      "leaf = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())",
      "ca = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())",
      "leaf.verify_directly_issued_by(ca)",
      "ext = leaf.extensions",
      "san = ext.get_extension_for_class(x509.SubjectAlternativeName)",
      "bc = ext.get_extension_for_class(x509.BasicConstraints)",
      "ku = ext.get_extension_for_class(x509.KeyUsage)",
      "eku = ext.get_extension_for_class(x509.ExtendedKeyUsage)",
      "aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier",
      "ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest",
      "print(json.dumps({'uris': san.value.get_values_for_type(x509.UniformResourceIdentifier),",
      "  'dns': san.value.get_values_for_type(x509.DNSName), 'ca': bc.value.ca, 'bcCritical': bc.critical,",
      "  'digitalSignature': ku.value.digital_signature, 'keyEncipherment': ku.value.key_encipherment, 'kuCritical': ku.critical,",
      "  'eku': [o.dotted_string for o in eku.value], 'akiIsCaSki': aki == ski, 'version': leaf.version.name,",
      "  'serialBits': leaf.serial_number.bit_length()}))",
    ].join("\n");
    for (const csr of ["p256", "rsa2048", "ed25519"]) {
      writeFileSync(join(dir, "py.crt"), issue(ca, pems[csr] as string, ["app.example.com"]).pem);
      const out = JSON.parse(execFileSync(python, ["-c", script, "py.crt", "ca.crt"], { cwd: dir }).toString());
      expect(out).toMatchObject({
        uris: [
          "urn:confspace:grant:openbao",
          "urn:confspace:workload:confspace-emulator/us-central1-a/confspace-workload",
        ],
        dns: ["app.example.com"],
        ca: false,
        bcCritical: true,
        digitalSignature: true,
        keyEncipherment: false,
        kuCritical: true,
        eku: ["1.3.6.1.5.5.7.3.2"],
        akiIsCaSki: true,
        version: "v3",
      });
      expect(out.serialBits).toBeGreaterThan(100);
    }
  });

  it("gives every certificate a new 128-bit serial and the requested validity", () => {
    const a = new X509Certificate(issue(ca, pems.p384 as string).pem);
    const b = new X509Certificate(issue(ca, pems.p384 as string).pem);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    const lifetime = (Date.parse(a.validTo) - Date.parse(a.validFrom)) / 1000;
    expect(lifetime).toBe(660);
  });

  it.each([
    ["RSA", RSA(2048), /sha256WithRSAEncryption/],
    ["P-384", P384, /ecdsa-with-SHA384/],
    ["Ed25519", ["-algorithm", "ED25519"], /ED25519/],
  ])("signs with a %s CA", (name, keyArgs, algorithm) => {
    const made = makeCa(`ca-${name}`, keyArgs, CA_EXTENSIONS);
    const authority = loadCertificateAuthority(made.cert, made.key, new Date());
    for (const csr of ["p256", "rsa2048", "ed25519"]) {
      writeFileSync(join(dir, "leaf2.crt"), issue(authority, pems[csr] as string).pem);
      expect(openssl("verify", "-CAfile", `ca-${name}.crt`, "leaf2.crt").toString()).toBe("leaf2.crt: OK\n");
    }
    expect(openssl("x509", "-in", "leaf2.crt", "-noout", "-text").toString()).toMatch(algorithm);
  });

  it("computes the CA's key identifier like openssl when its certificate has none", () => {
    // The same key as ca.crt (whose identifier openssl computed), in a certificate without one.
    openssl(
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-subj",
      "/CN=no ski",
      "-days",
      "2",
      "-out",
      "ca-noski.crt",
      ...CA_EXTENSIONS,
      "-addext",
      "subjectKeyIdentifier=none",
      "-addext",
      "authorityKeyIdentifier=none",
    );
    expect(openssl("x509", "-in", "ca-noski.crt", "-noout", "-text").toString()).not.toMatch(/Key Identifier/);
    const authority = loadCertificateAuthority(file("ca-noski.crt"), file("ca.key"), new Date());
    expect(authority.keyIdentifier.toString("hex")).toBe(ca.keyIdentifier.toString("hex"));
    writeFileSync(join(dir, "leaf3.crt"), issue(authority, pems.p256 as string).pem);
    expect(openssl("verify", "-CAfile", "ca-noski.crt", "leaf3.crt").toString()).toBe("leaf3.crt: OK\n");
  });
});

describe("loadCertificateAuthority", () => {
  it("refuses each unusable CA with the field it is about", () => {
    const good = { cert: file("ca.crt"), key: file("ca.key") };
    const other = makeCa("other", P256, CA_EXTENSIONS);
    const notCa = makeCa("notca", P256, ["-addext", "basicConstraints=critical,CA:FALSE"]);
    const noCertSign = makeCa("nosign", P256, [
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,digitalSignature",
    ]);
    openssl("pkey", "-in", "ca.key", "-aes256", "-passout", "pass:secret-pass", "-out", "ca-enc.key");
    const cases: Array<[string, string, string, string, RegExp]> = [
      ["mismatched key", good.cert, other.key, "certificates.caKeyFile", /not the private key/],
      ["encrypted key", good.cert, file("ca-enc.key"), "certificates.caKeyFile", /unencrypted PEM private key/],
      ["not a key", good.cert, good.cert, "certificates.caKeyFile", /unencrypted PEM private key/],
      ["two certificates", good.cert + other.cert, good.key, "certificates.caCertFile", /exactly one PEM certificate/],
      ["no certificate", "nothing", good.key, "certificates.caCertFile", /exactly one PEM certificate/],
      ["not a CA", notCa.cert, notCa.key, "certificates.caCertFile", /not a CA certificate/],
      [
        "no keyCertSign",
        noCertSign.cert,
        noCertSign.key,
        "certificates.caCertFile",
        /not a CA certificate .*keyCertSign/,
      ],
    ];
    for (const [, cert, key, field, message] of cases) {
      let caught: unknown;
      try {
        loadCertificateAuthority(cert, key, new Date());
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(BrokerConfigError);
      expect((caught as BrokerConfigError).field).toBe(field);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain("PRIVATE KEY");
    }
    // Expired, or not yet valid.
    const later = new Date(Date.now() + 3 * 86_400_000);
    expect(() => loadCertificateAuthority(good.cert, good.key, later)).toThrow(/not valid now/);
  });
});
