// Builds and signs one short-lived workload client certificate (RFC 5280 v3).
import { randomBytes, sign } from "node:crypto";
import {
  bitString,
  boolean,
  explicit,
  implicit,
  integer,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  utf8String,
  x509Time,
} from "@confspace/core/der";
import type { CertificateAuthority } from "./ca.js";
import { keyIdentifierOf } from "./ca.js";

/** The SAN URI naming the grant a certificate was issued for (what the key service reads). */
export const GRANT_URI_PREFIX = "urn:confspace:grant:";
/** The SAN URI naming the verified workload a certificate was issued to. */
export const WORKLOAD_URI_PREFIX = "urn:confspace:workload:";

/** What goes into one certificate. */
export interface WorkloadCertificateRequest {
  /** The CSR's public key (SubjectPublicKeyInfo DER). */
  spki: Buffer;
  /** Grant name: the subject CN and the `urn:confspace:grant:` URI. */
  grant: string;
  /** Verified workload identity (URI-safe): the `urn:confspace:workload:` URI. */
  workload: string;
  /** DNS names, already checked against the grant. */
  dnsNames: readonly string[];
  notBefore: Date;
  notAfter: Date;
  /** Serial number bytes. Default 16 random bytes (128 bits). */
  serial?: Buffer;
}

/** A signed certificate. */
export interface SignedCertificate {
  pem: string;
  der: Buffer;
  /** Serial number, lower-case hex (for logs). */
  serial: string;
}

const OID = {
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/**
 * Signs a client certificate: subject `CN=<grant>`; SAN URIs `urn:confspace:grant:<grant>`
 * and `urn:confspace:workload:<workload>` (then the DNS names); extendedKeyUsage clientAuth;
 * keyUsage digitalSignature and basicConstraints CA:false (both critical); subject and
 * authority key identifiers.
 */
export function signWorkloadCertificate(
  ca: CertificateAuthority,
  request: WorkloadCertificateRequest,
): SignedCertificate {
  const serial = request.serial ?? randomBytes(16);
  const extension = (id: string, value: Buffer, critical = false) =>
    sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
  const names = [
    implicit(6, Buffer.from(`${GRANT_URI_PREFIX}${request.grant}`, "ascii")),
    implicit(6, Buffer.from(`${WORKLOAD_URI_PREFIX}${request.workload}`, "ascii")),
    ...request.dnsNames.map((name) => implicit(2, Buffer.from(name, "ascii"))),
  ];
  const extensions = sequence(
    extension(OID.basicConstraints, sequence(), true),
    // digitalSignature only: bit 0, seven unused bits.
    extension(OID.keyUsage, namedBits([0]), true),
    extension(OID.extKeyUsage, sequence(oid(OID.clientAuth))),
    extension(OID.subjectAltName, sequence(...names)),
    extension(OID.subjectKeyIdentifier, octetString(keyIdentifierOf(request.spki))),
    extension(OID.authorityKeyIdentifier, sequence(implicit(0, ca.keyIdentifier))),
  );
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(serial),
    ca.signatureAlgorithm,
    ca.subject,
    sequence(x509Time(request.notBefore), x509Time(request.notAfter)),
    sequence(set(sequence(oid(OID.commonName), utf8String(request.grant)))),
    request.spki,
    explicit(3, extensions),
  );
  const signature = sign(ca.hash, tbs, ca.key);
  const der = sequence(tbs, ca.signatureAlgorithm, bitString(signature));
  const base64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`,
    der,
    serial: Buffer.from(serial).toString("hex"),
  };
}
