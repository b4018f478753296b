import { createHash, X509Certificate } from "node:crypto";
import { invalid } from "./internal/option-checks.js";

/** The two ways to pin the PKI root, as given in the verifier options. */
export interface PkiRootPin {
  /** SHA-256 of the root certificate's DER, hex, colons optional, any case. */
  pkiRootFingerprint?: unknown;
  /** The root certificate itself, one PEM `CERTIFICATE` block. */
  pkiRootCertificate?: unknown;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----/g;

/**
 * The pinned root for `tokenType: "PKI"`: the SHA-256 of the root certificate's DER,
 * from `pkiRootFingerprint` or computed from `pkiRootCertificate`. Exactly one of the
 * two is required with PKI and neither is allowed otherwise. Throws
 * `AttestationVerifierOptionError` naming the option at fault.
 *
 * A pinned certificate must be a single PEM `CERTIFICATE` block (nothing else: no
 * second certificate, no key) holding a self-signed CA certificate, since it is the
 * root the token's `x5c` chain ends at. Its validity is checked with each token.
 */
export function resolvePkiRoot(pin: PkiRootPin, tokenType: string): Buffer | undefined {
  const { pkiRootFingerprint: fingerprint, pkiRootCertificate: certificate } = pin;
  if (tokenType !== "PKI") {
    if (fingerprint !== undefined) invalid("pkiRootFingerprint", 'requires tokenType "PKI"');
    if (certificate !== undefined) invalid("pkiRootCertificate", 'requires tokenType "PKI"');
    return undefined;
  }
  if (fingerprint !== undefined && certificate !== undefined) {
    invalid("pkiRootCertificate", "cannot be combined with pkiRootFingerprint: pin the root one way");
  }
  if (certificate !== undefined) return fingerprintOfPem(certificate);
  const hex = typeof fingerprint === "string" ? fingerprint.replaceAll(":", "") : undefined;
  if (hex === undefined || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    invalid(
      "pkiRootFingerprint",
      'must be the SHA-256 of the root certificate in hex, or give pkiRootCertificate (tokenType "PKI")',
    );
  }
  return Buffer.from(hex, "hex");
}

function fingerprintOfPem(pem: unknown): Buffer {
  if (typeof pem !== "string") invalid("pkiRootCertificate", "must be a PEM certificate string");
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const outside = pem.replace(PEM_BLOCK, "").trim();
  if (blocks.length !== 1 || blocks[0]![1] !== "CERTIFICATE" || outside !== "") {
    invalid("pkiRootCertificate", "must hold exactly one PEM CERTIFICATE block and nothing else");
  }
  const der = Buffer.from(blocks[0]![2]!.replace(/\s/g, ""), "base64");
  let root: X509Certificate;
  try {
    root = new X509Certificate(der);
  } catch {
    invalid("pkiRootCertificate", "is not a readable X.509 certificate");
  }
  if (!root.ca || !isSelfSigned(root)) invalid("pkiRootCertificate", "must be a self-signed CA certificate (the root)");
  return createHash("sha256").update(root.raw).digest();
}

/**
 * Names itself as its issuer and verifies under its own key. Does not throw: checkIssued
 * is false for a certificate whose key OpenSSL cannot decode, before the key is read.
 */
function isSelfSigned(certificate: X509Certificate): boolean {
  return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
}
