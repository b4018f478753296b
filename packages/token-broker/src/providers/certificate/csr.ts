// PKCS#10 certificate signing requests (RFC 2986) as the certificate provider accepts
// them: one PEM block, strict DER, an accepted key type and size, a signature that
// verifies with the request's own key. Only the public key and the requested DNS names
// are used; the subject and every other requested extension are ignored (the broker
// decides what the certificate says).
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { children, DerError, decodeOid, expect, readDer, TAG, type Tlv } from "@confspace/core/der";
import { MAX_CSR_LENGTH } from "./config.js";

/**
 * The CSR cannot be used. The message says what is wrong with it in general terms (key
 * type, size, signature, format); it never repeats the CSR's contents.
 */
export class CsrError extends Error {}

/** A CSR that passed every check. */
export interface ParsedCsr {
  /** The request's public key, re-encoded by node:crypto as SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  /** `EC P-256`, `RSA 3072`, `Ed25519`: for logs and metrics. */
  readonly keyDescription: string;
  /** DNS names of a requested subjectAltName, lower-cased, in request order (no other SAN types are accepted). */
  readonly dnsNames: readonly string[];
}

const PEM =
  /^\s*-----BEGIN CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE REQUEST-----\s*$/;

const OID = {
  extensionRequest: "1.2.840.113549.1.9.14",
  subjectAltName: "2.5.29.17",
} as const;

/** Signature algorithms accepted on a CSR: OID → (hash for node:crypto, key type it needs, NULL parameters allowed). */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string | null; keyType: string; nullParams: boolean }> = {
  "1.2.840.113549.1.1.11": { hash: "sha256", keyType: "rsa", nullParams: true },
  "1.2.840.113549.1.1.12": { hash: "sha384", keyType: "rsa", nullParams: true },
  "1.2.840.113549.1.1.13": { hash: "sha512", keyType: "rsa", nullParams: true },
  "1.2.840.10045.4.3.2": { hash: "sha256", keyType: "ec", nullParams: false },
  "1.2.840.10045.4.3.3": { hash: "sha384", keyType: "ec", nullParams: false },
  "1.2.840.10045.4.3.4": { hash: "sha512", keyType: "ec", nullParams: false },
  "1.3.101.112": { hash: null, keyType: "ed25519", nullParams: false },
};
const REFUSED_ALGORITHMS: Record<string, string> = {
  "1.2.840.113549.1.1.4": "MD5 signatures are refused",
  "1.2.840.113549.1.1.5": "SHA-1 signatures are refused",
  "1.2.840.10045.4.1": "SHA-1 signatures are refused",
  "1.2.840.113549.1.1.10": "RSASSA-PSS signatures are not supported (use PKCS #1 v1.5 with SHA-256)",
  "1.2.840.10040.4.3": "DSA keys are not accepted",
  "2.16.840.1.101.3.4.3.2": "DSA keys are not accepted",
};
const CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384" };
const ACCEPTED = "EC P-256 or P-384, RSA 2048–4096 bits with exponent 65537, or Ed25519";
const DNS_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Reads and checks a PEM CSR.
 *
 * @throws {CsrError} not one PEM `CERTIFICATE REQUEST`, not DER, a key type or size not
 *   accepted, a weak or unknown signature algorithm, a signature that does not verify, or
 *   a subjectAltName with anything but DNS names.
 */
export function parseCsr(pem: string): ParsedCsr {
  if (pem.length > MAX_CSR_LENGTH) throw new CsrError(`the CSR is longer than ${MAX_CSR_LENGTH} characters`);
  const match = PEM.exec(pem);
  if (match === null) {
    throw new CsrError('the CSR must be one PEM block "-----BEGIN CERTIFICATE REQUEST-----" (PKCS #10)');
  }
  const base64 = (match[1] as string).replace(/\r?\n/g, "");
  const der = Buffer.from(base64, "base64");
  if (der.length === 0 || der.toString("base64") !== base64)
    throw new CsrError("the CSR's PEM body is not valid base64");
  try {
    return parseDer(der);
  } catch (error) {
    if (error instanceof DerError) throw new CsrError(`the CSR is not a valid PKCS #10 request (${error.message})`);
    throw error;
  }
}

function parseDer(der: Buffer): ParsedCsr {
  const parts = children(expect(readDer(der), TAG.sequence, "a SEQUENCE"));
  if (parts.length !== 3) throw new DerError("a CertificationRequest has three parts");
  const [info, algorithm, signature] = parts as [Tlv, Tlv, Tlv];
  const fields = children(expect(info, TAG.sequence, "certificationRequestInfo"));
  const [version, subject, spki, attributes, ...extra] = fields;
  const versionValue = expect(version, TAG.integer, "a version").value;
  if (versionValue.length !== 1 || versionValue[0] !== 0) throw new DerError("the version must be 0 (v1)");
  expect(subject, TAG.sequence, "a subject name");
  const publicKeyInfo = expect(spki, TAG.sequence, "a subjectPublicKeyInfo");
  if (extra.length > 0) throw new DerError("unexpected fields after the attributes");
  const dnsNames = attributes === undefined ? [] : readAttributes(expect(attributes, 0xa0, "[0] attributes"));

  const algorithmParts = children(expect(algorithm, TAG.sequence, "a signature algorithm"));
  const algorithmOid = decodeOid(expect(algorithmParts[0], TAG.oid, "a signature algorithm OID").value);
  const refused = REFUSED_ALGORITHMS[algorithmOid];
  if (refused !== undefined) throw new CsrError(refused);
  const accepted = SIGNATURE_ALGORITHMS[algorithmOid];
  if (accepted === undefined)
    throw new CsrError(`the CSR's signature algorithm is not accepted (key types: ${ACCEPTED})`);
  const params = algorithmParts.slice(1);
  const paramsOk =
    params.length === 0 ||
    (accepted.nullParams && params.length === 1 && params[0]?.tag === TAG.null && params[0].value.length === 0);
  if (!paramsOk) throw new DerError("unexpected signature algorithm parameters");

  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicKeyInfo.raw, format: "der", type: "spki" });
  } catch {
    throw new CsrError(`the CSR's public key cannot be read (key types: ${ACCEPTED})`);
  }
  const keyDescription = describeAcceptedKey(key);
  if (key.asymmetricKeyType !== accepted.keyType) {
    throw new CsrError("the CSR's signature algorithm does not fit its key type");
  }

  const signatureValue = expect(signature, TAG.bitString, "a signature BIT STRING").value;
  if (signatureValue.length < 2 || signatureValue[0] !== 0) throw new DerError("malformed signature BIT STRING");
  let valid = false;
  try {
    valid = verify(accepted.hash, info.raw, key, signatureValue.subarray(1));
  } catch {
    valid = false;
  }
  if (!valid) throw new CsrError("the CSR's signature does not verify with its public key");
  return { spki: key.export({ format: "der", type: "spki" }), keyDescription, dnsNames };
}

/** `EC P-256`, `RSA 2048`, `Ed25519`, or a {@link CsrError} naming what is refused. */
function describeAcceptedKey(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ec") {
    const curve = CURVES[details.namedCurve ?? ""];
    if (curve === undefined) {
      throw new CsrError(
        `the CSR's EC curve ${details.namedCurve ?? "(unnamed)"} is not accepted (use P-256 or P-384)`,
      );
    }
    return `EC ${curve}`;
  }
  if (type === "rsa") {
    const bits = details.modulusLength ?? 0;
    if (bits < 2048 || bits > 4096)
      throw new CsrError(`the CSR's ${bits}-bit RSA key is not accepted (2048–4096 bits)`);
    if (details.publicExponent !== 65537n) throw new CsrError("the CSR's RSA key must use the public exponent 65537");
    return `RSA ${bits}`;
  }
  if (type === "ed25519") return "Ed25519";
  throw new CsrError(`the CSR's ${type ?? "unknown"} key is not accepted (${ACCEPTED})`);
}

/** The DNS names of the extensionRequest's subjectAltName; other attributes and extensions are ignored. */
function readAttributes(attributes: Tlv): string[] {
  let dnsNames: string[] | undefined;
  let sawExtensions = false;
  for (const attribute of children(attributes)) {
    const [type, values, ...rest] = children(expect(attribute, TAG.sequence, "an attribute"));
    if (rest.length > 0) throw new DerError("malformed attribute");
    const typeOid = decodeOid(expect(type, TAG.oid, "an attribute type").value);
    const valueSet = children(expect(values, TAG.set, "attribute values"));
    if (typeOid !== OID.extensionRequest) continue;
    if (sawExtensions || valueSet.length !== 1) throw new DerError("more than one extension request");
    sawExtensions = true;
    for (const extension of children(expect(valueSet[0], TAG.sequence, "requested extensions"))) {
      const parts = children(expect(extension, TAG.sequence, "an extension"));
      const id = decodeOid(expect(parts[0], TAG.oid, "an extension OID").value);
      const value = expect(parts[parts.length - 1], TAG.octetString, "an extension value");
      if (parts.length === 3) expect(parts[1], TAG.boolean, "an extension's critical flag");
      else if (parts.length !== 2) throw new DerError("malformed extension");
      if (id !== OID.subjectAltName) continue;
      if (dnsNames !== undefined) throw new DerError("subjectAltName requested twice");
      dnsNames = readGeneralNames(readDer(value.value));
    }
  }
  return dnsNames ?? [];
}

const NAME_TYPES: Record<number, string> = {
  160: "otherName",
  129: "email address",
  163: "X.400 address",
  164: "directory name",
  165: "EDI party name",
  134: "URI",
  135: "IP address",
  136: "registered ID",
};

function readGeneralNames(names: Tlv): string[] {
  const out: string[] = [];
  for (const name of children(expect(names, TAG.sequence, "subjectAltName GeneralNames"))) {
    if (name.tag !== 0x82) {
      const kind = NAME_TYPES[name.tag] ?? "unknown";
      throw new CsrError(
        `the CSR asks for a ${kind} subjectAltName; only DNS names the grant lists may be requested (the broker sets the URIs itself)`,
      );
    }
    const dns = name.value.toString("latin1").toLowerCase();
    if (!DNS_NAME.test(dns) || dns.length > 253) throw new CsrError("the CSR asks for a malformed DNS name");
    if (!out.includes(dns)) out.push(dns);
  }
  return out;
}
