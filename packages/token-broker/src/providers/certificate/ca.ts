// The CA that signs workload certificates (`certificates.caCertFile`, `caKeyFile`): read
// and checked once at start, like the TLS key, so a wrong pair fails the start, not the
// first request.
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { children, decodeOid, expect, nullValue, oid, readDer, sequence, TAG } from "@confspace/core/der";
import { BrokerConfigError } from "../../errors.js";

/** A CA ready to sign. Holds the private key: never logged, never in an error. */
export interface CertificateAuthority {
  /** The CA certificate, PEM, as workloads get it (`ca_certificate`). */
  readonly certificatePem: string;
  /** Its subject, DER: the issuer of every certificate it signs. */
  readonly subject: Buffer;
  /** Its subject key identifier (from the certificate, or SHA-1 of its key): the leaves' authority key identifier. */
  readonly keyIdentifier: Buffer;
  /** End of its validity: no leaf outlives it. */
  readonly notAfter: Date;
  /** AlgorithmIdentifier DER of the signatures it makes. */
  readonly signatureAlgorithm: Buffer;
  /** Hash for node:crypto's `sign` (`null` for Ed25519). */
  readonly hash: string | null;
  /** The private key. */
  readonly key: KeyObject;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks a CA certificate and key (PEM file contents) and prepares them for signing.
 *
 * @throws {BrokerConfigError} naming `certificates.caCertFile` or `certificates.caKeyFile`:
 *   not exactly one PEM certificate, not a CA (basicConstraints CA:TRUE, keyUsage
 *   keyCertSign when keyUsage is present), outside its validity at `now`, a key that cannot
 *   be read (encrypted, malformed), a key type the broker cannot sign with, or a key that is
 *   not the certificate's.
 */
export function loadCertificateAuthority(certPem: string, keyPem: string | Buffer, now: Date): CertificateAuthority {
  const certField = "certificates.caCertFile";
  const keyField = "certificates.caKeyFile";
  const pems = certPem.match(PEM_CERTIFICATE) ?? [];
  if (pems.length !== 1) {
    throw new BrokerConfigError("must hold exactly one PEM certificate (the CA that signs workload certificates)", {
      field: certField,
    });
  }
  const pem = pems[0] as string;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw new BrokerConfigError("holds a certificate that does not parse", { field: certField, cause: error });
  }
  // OpenSSL's check: basicConstraints CA:TRUE, and keyCertSign when a keyUsage is present.
  if (!cert.ca) {
    throw new BrokerConfigError(
      "is not a CA certificate (it needs basicConstraints CA:TRUE and, with a keyUsage, keyCertSign)",
      { field: certField },
    );
  }
  const notAfter = new Date(cert.validTo);
  if (now < new Date(cert.validFrom) || now >= notAfter) {
    throw new BrokerConfigError("is not valid now (check its notBefore / notAfter)", { field: certField });
  }
  let parsed: { subject: Buffer; keyIdentifier: Buffer | undefined; canSignCertificates: boolean };
  try {
    parsed = readCaFields(cert.raw);
  } catch (error) {
    throw new BrokerConfigError("holds a certificate that does not parse", { field: certField, cause: error });
  }
  if (!parsed.canSignCertificates) {
    throw new BrokerConfigError("has a keyUsage without keyCertSign: it cannot sign certificates", {
      field: certField,
    });
  }

  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    // node's message names the format problem, never key bytes; keep it out of ours anyway.
    throw new BrokerConfigError("is not an unencrypted PEM private key", { field: keyField, cause: error });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new BrokerConfigError("is not the private key of certificates.caCertFile", { field: keyField });
  }
  const { signatureAlgorithm, hash } = signingAlgorithm(key, keyField);
  const spki = cert.publicKey.export({ format: "der", type: "spki" });
  return {
    certificatePem: `${pem}\n`,
    subject: parsed.subject,
    keyIdentifier: parsed.keyIdentifier ?? keyIdentifierOf(spki),
    notAfter,
    signatureAlgorithm,
    hash,
    key,
  };
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifierOf(spki: Buffer): Buffer {
  const [, bits] = children(readDer(spki));
  const value = expect(bits, TAG.bitString, "a subjectPublicKey").value;
  return createHash("sha1").update(value.subarray(1)).digest();
}

function signingAlgorithm(key: KeyObject, field: string): { signatureAlgorithm: Buffer; hash: string | null } {
  const type = key.asymmetricKeyType;
  if (type === "rsa") {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new BrokerConfigError("an RSA CA key must have at least 2048 bits", { field });
    }
    return { signatureAlgorithm: sequence(oid("1.2.840.113549.1.1.11"), nullValue()), hash: "sha256" };
  }
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const byCurve: Record<string, [string, string]> = {
      prime256v1: ["1.2.840.10045.4.3.2", "sha256"],
      secp384r1: ["1.2.840.10045.4.3.3", "sha384"],
      secp521r1: ["1.2.840.10045.4.3.4", "sha512"],
    };
    const entry = byCurve[curve ?? ""];
    if (entry === undefined) throw new BrokerConfigError("an EC CA key must be on P-256, P-384 or P-521", { field });
    return { signatureAlgorithm: sequence(oid(entry[0])), hash: entry[1] };
  }
  if (type === "ed25519") return { signatureAlgorithm: sequence(oid("1.3.101.112")), hash: null };
  throw new BrokerConfigError("the CA key must be RSA, EC (P-256, P-384, P-521) or Ed25519", { field });
}

/** Subject, subject key identifier and whether keyUsage (if any) allows keyCertSign, from a certificate's DER. */
function readCaFields(der: Buffer): {
  subject: Buffer;
  keyIdentifier: Buffer | undefined;
  canSignCertificates: boolean;
} {
  const [tbs] = children(expect(readDer(der), TAG.sequence, "a certificate"));
  const fields = children(expect(tbs, TAG.sequence, "a TBSCertificate"));
  // [0] version is optional (v1 certificates have none; a CA must be v3 to carry basicConstraints).
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = expect(fields[offset + 4], TAG.sequence, "a subject").raw;
  let keyIdentifier: Buffer | undefined;
  let canSignCertificates = true;
  const extensions = fields.find((field) => field.tag === 0xa3);
  for (const extension of extensions === undefined
    ? []
    : children(expect(children(extensions)[0], TAG.sequence, "extensions"))) {
    const parts = children(extension);
    const id = decodeOid(expect(parts[0], TAG.oid, "an extension OID").value);
    const value = expect(parts[parts.length - 1], TAG.octetString, "an extension value").value;
    if (id === "2.5.29.14")
      keyIdentifier = Buffer.from(expect(readDer(value), TAG.octetString, "a key identifier").value);
    if (id === "2.5.29.15") {
      const bits = expect(readDer(value), TAG.bitString, "keyUsage bits").value;
      // keyCertSign is bit 5: the first content byte's 0x04.
      canSignCertificates = bits.length >= 2 && ((bits[1] as number) & 0x04) !== 0;
    }
  }
  return { subject: Buffer.from(subject), keyIdentifier, canSignCertificates };
}
