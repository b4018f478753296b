import { createHash, type KeyObject, timingSafeEqual, X509Certificate } from "node:crypto";
import { reject } from "./errors.js";

const STANDARD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const NAMES = ["leaf", "intermediate", "root"] as const;

/** Options of {@link verifyPkiChain}. */
export interface PkiChainOptions {
  /** SHA-256 of the pinned root certificate's DER. */
  rootFingerprint: Buffer;
  /** Current time, ms since the epoch. */
  now: number;
  /** Allowed skew on each certificate's validity window, ms. */
  clockToleranceMs: number;
}

/**
 * Verifies the `x5c` header of a PKI token — exactly leaf, intermediate, root as
 * standard base64 DER — and returns the leaf's public key, which must then verify the
 * token's signature.
 *
 * Checks, in order: shape; the root's SHA-256 equals the pin (constant time); each
 * certificate is issued and signed by the next, the root by itself; root and
 * intermediate are CAs, the leaf is not; every certificate is within its validity
 * window (`notBefore <= now <= notAfter`, widened by the tolerance).
 */
export function verifyPkiChain(x5c: unknown, options: PkiChainOptions): KeyObject {
  if (!Array.isArray(x5c) || x5c.length !== 3) {
    throw reject("certificate_chain", "x5c must hold exactly three certificates: leaf, intermediate, root", "x5c");
  }
  const [leaf, intermediate, root] = x5c.map((entry: unknown, index) => parse(entry, NAMES[index]!)) as [
    X509Certificate,
    X509Certificate,
    X509Certificate,
  ];

  // Both are SHA-256 digests (resolvePkiRoot makes the pin), so timingSafeEqual sees equal lengths.
  if (!timingSafeEqual(createHash("sha256").update(root.raw).digest(), options.rootFingerprint)) {
    throw reject("root_fingerprint", "the x5c root certificate is not the pinned root", "x5c");
  }

  issuedBy(leaf, intermediate, "leaf", "intermediate");
  issuedBy(intermediate, root, "intermediate", "root");
  issuedBy(root, root, "root", "root");
  if (!root.ca || !intermediate.ca) {
    throw reject("certificate_chain", "the x5c root and intermediate must be CA certificates", "x5c");
  }
  if (leaf.ca) throw reject("certificate_chain", "the x5c leaf must not be a CA certificate", "x5c");

  for (const [index, certificate] of [leaf, intermediate, root].entries()) {
    const notBefore = Date.parse(certificate.validFrom);
    const notAfter = Date.parse(certificate.validTo);
    // Written as "not inside" so that a date Date.parse cannot read (NaN) fails closed too.
    if (!(notBefore <= options.now + options.clockToleranceMs)) {
      throw reject("certificate_validity", `the x5c ${NAMES[index]} certificate is not valid yet`, "x5c");
    }
    if (!(options.now - options.clockToleranceMs <= notAfter)) {
      throw reject("certificate_validity", `the x5c ${NAMES[index]} certificate has expired`, "x5c");
    }
  }
  return leaf.publicKey;
}

function parse(entry: unknown, name: string): X509Certificate {
  // Stryker disable next-line ConditionalExpression: a non-string fails the length or the pattern test as well
  if (typeof entry !== "string" || entry.length % 4 !== 0 || !STANDARD_BASE64.test(entry)) {
    throw reject("certificate_chain", `the x5c ${name} certificate is not standard base64`, "x5c");
  }
  const der = Buffer.from(entry, "base64");
  // A DER certificate is a SEQUENCE; refuse PEM text or other encodings node would also accept.
  if (der[0] !== 0x30 || der.toString("base64") !== entry) {
    throw reject("certificate_chain", `the x5c ${name} certificate is not DER`, "x5c");
  }
  try {
    return new X509Certificate(der);
  } catch (cause) {
    throw reject("certificate_chain", `the x5c ${name} certificate cannot be parsed`, "x5c", cause);
  }
}

function issuedBy(subject: X509Certificate, issuer: X509Certificate, subjectName: string, issuerName: string): void {
  let ok: boolean;
  // Stryker disable BlockStatement,StringLiteral: OpenSSL 3 never gets to throw here (checkIssued already fails on an issuer key it cannot decode); the catch stays for builds that would, so hostile certificates still get a typed error
  try {
    ok = subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch (cause) {
    throw reject("certificate_chain", `the x5c ${subjectName} certificate could not be checked`, "x5c", cause);
  }
  // Stryker restore BlockStatement,StringLiteral
  if (!ok)
    throw reject("certificate_chain", `the x5c ${subjectName} certificate is not signed by the ${issuerName}`, "x5c");
}
