// PKCS#10 (RFC 2986) certification requests, written with the DER writer and signed with
// node:crypto, so requesting a workload certificate needs no ASN.1 library. The subject
// is one common name; DNS names, when asked for, go in an extensionRequest attribute.
import { type KeyObject, sign } from "node:crypto";
import {
  bitString,
  explicit,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  toPem,
  utf8String,
} from "@confspace/core/der";

const OID_COMMON_NAME = "2.5.4.3";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";

/** The signature algorithm that goes with each key: its AlgorithmIdentifier and node's digest name. */
function signatureAlgorithm(key: KeyObject): { identifier: Buffer; digest: string } {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "ec" && details?.namedCurve === "prime256v1") {
    return { identifier: sequence(oid("1.2.840.10045.4.3.2")), digest: "sha256" };
  }
  if (key.asymmetricKeyType === "ec" && details?.namedCurve === "secp384r1") {
    return { identifier: sequence(oid("1.2.840.10045.4.3.3")), digest: "sha384" };
  }
  if (key.asymmetricKeyType === "rsa") {
    return { identifier: sequence(oid("1.2.840.113549.1.1.11"), nullValue()), digest: "sha256" };
  }
  throw new RangeError("unsupported key type for a certification request");
}

export interface CsrInput {
  privateKey: KeyObject;
  publicKey: KeyObject;
  commonName: string;
  dnsNames: readonly string[];
}

/** A signed PKCS#10 request in PEM (`CERTIFICATE REQUEST`). */
export function createCsr(input: CsrInput): string {
  const { identifier, digest } = signatureAlgorithm(input.privateKey);
  const subject = sequence(set(sequence(oid(OID_COMMON_NAME), utf8String(input.commonName))));
  const spki = input.publicKey.export({ type: "spki", format: "der" });
  const attributes =
    input.dnsNames.length === 0
      ? explicit(0)
      : explicit(
          0,
          sequence(
            oid(OID_EXTENSION_REQUEST),
            set(
              sequence(
                sequence(
                  oid(OID_SUBJECT_ALT_NAME),
                  octetString(sequence(...input.dnsNames.map((name) => implicit(2, Buffer.from(name, "ascii"))))),
                ),
              ),
            ),
          ),
        );
  const info = sequence(integer(0), subject, spki, attributes);
  const signature = sign(digest, info, { key: input.privateKey, dsaEncoding: "der" });
  return toPem("CERTIFICATE REQUEST", sequence(info, identifier, bitString(signature)));
}
