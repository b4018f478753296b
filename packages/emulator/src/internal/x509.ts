// Builds X.509 v3 certificates (RFC 5280) signed sha256WithRSAEncryption. Node's
// crypto can verify certificates but not create them, and the emulator depends on
// nothing beyond core and jose, so the TBSCertificate is encoded by hand.
import { createHash, type KeyObject, randomBytes, sign } from "node:crypto";
import {
  bitString,
  boolean,
  explicit,
  implicit,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  utf8String,
  x509Time,
} from "@confspace/core/der";

const OID = {
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  commonName: "2.5.4.3",
  organizationName: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
} as const;

/** keyUsage bit positions (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

export type KeyUsage = keyof typeof KEY_USAGE;

/** A distinguished name with the two attributes the emulator needs. */
export interface DistinguishedName {
  commonName: string;
  organization?: string;
}

export interface CertificateTemplate {
  subject: DistinguishedName;
  subjectPublicKey: KeyObject;
  /** Issuer's name and key; omit both for a self-signed certificate. */
  issuer?: { name: DistinguishedName; publicKey: KeyObject; privateKey: KeyObject };
  /** Required when self-signed. */
  subjectPrivateKey?: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** `undefined` leaves basicConstraints out; `{ ca: false }` encodes an end-entity. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  keyUsage?: readonly KeyUsage[];
  /** Adds subjectKeyIdentifier and (when issued by another key) authorityKeyIdentifier. Default true. */
  keyIdentifiers?: boolean;
  /** Positive serial number; default 16 random bytes. */
  serialNumber?: Uint8Array;
}

/** DER encoding of an X.501 Name: one RDN per attribute, O before CN. */
export function encodeName(name: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  if (name.organization !== undefined) {
    rdns.push(set(sequence(oid(OID.organizationName), utf8String(name.organization))));
  }
  rdns.push(set(sequence(oid(OID.commonName), utf8String(name.commonName))));
  return sequence(...rdns);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (the PKCS#1 RSAPublicKey). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ type: "pkcs1", format: "der" });
  return createHash("sha1").update(der).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and never a leading zero octet
  return serial;
}

/** Encodes, signs and returns the certificate as DER. */
export function createCertificate(template: CertificateTemplate): Buffer {
  const signer = template.issuer?.privateKey ?? template.subjectPrivateKey;
  if (!signer) throw new TypeError("a self-signed certificate needs subjectPrivateKey");
  if (template.notAfter.getTime() < template.notBefore.getTime()) {
    throw new RangeError("notAfter is before notBefore");
  }
  const algorithm = sequence(oid(OID.sha256WithRSAEncryption), nullValue());
  const issuerName = encodeName(template.issuer?.name ?? template.subject);

  const extensions: Buffer[] = [];
  if (template.basicConstraints) {
    const { ca, pathLength } = template.basicConstraints;
    const fields: Buffer[] = [];
    if (ca) fields.push(boolean(true)); // cA DEFAULT FALSE is omitted when false
    if (ca && pathLength !== undefined) fields.push(integer(pathLength));
    extensions.push(extension(OID.basicConstraints, true, sequence(...fields)));
  }
  if (template.keyUsage && template.keyUsage.length > 0) {
    const bits = template.keyUsage.map((usage) => KEY_USAGE[usage]);
    extensions.push(extension(OID.keyUsage, true, namedBits(bits)));
  }
  if (template.keyIdentifiers ?? true) {
    extensions.push(extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(template.subjectPublicKey))));
    const authorityKey = template.issuer?.publicKey ?? template.subjectPublicKey;
    extensions.push(extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyIdentifier(authorityKey)))));
  }

  const tbs = sequence(
    explicit(0, integer(2)), // v3
    integer(template.serialNumber ?? randomSerial()),
    algorithm,
    issuerName,
    sequence(x509Time(template.notBefore), x509Time(template.notAfter)),
    encodeName(template.subject),
    template.subjectPublicKey.export({ type: "spki", format: "der" }),
    ...(extensions.length > 0 ? [explicit(3, sequence(...extensions))] : []),
  );
  const signature = sign("sha256", tbs, signer); // RSASSA-PKCS1-v1_5 for RSA keys
  return sequence(tbs, algorithm, bitString(signature));
}

/** PEM armour (`CERTIFICATE`, 64-column base64). */
export function toPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
