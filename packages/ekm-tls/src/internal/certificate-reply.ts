// Checks of the broker's answer to a certificate request, before anything is handed to the
// caller: the reply's shape, the leaf certifies OUR public key, it chains to the CA the
// broker returned, it is a client certificate for the grant the reply names, and it is
// valid now. Every failure is a WorkloadCertificateError naming the check; none quotes the
// reply (a certificate is public, but a hostile reply must not put text in a message).
import { type KeyObject, X509Certificate } from "node:crypto";
import type { CertificateReply, UncheckedReply } from "../protocol.js";
import { type WorkloadCertificateCheck, WorkloadCertificateError } from "../workload-certificate-error.js";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
/** Clock skew tolerated on the leaf's notBefore, in ms. */
const NOT_BEFORE_SKEW_MS = 60_000;
const MAX_GRANT_LENGTH = 256;

export interface CheckedCertificate {
  certificatePem: string;
  caPem: string;
  grant: string;
  expiresAt: number;
  refreshAt: number;
}

function fail(check: WorkloadCertificateCheck, origin: string, text: string, cause?: unknown): never {
  throw new WorkloadCertificateError(check, origin, `The token broker at ${origin} ${text}`, { cause });
}

function onePem(value: unknown, field: string, origin: string): { pem: string; cert: X509Certificate } {
  if (typeof value !== "string" || value.length > 65_536) {
    fail(
      "reply",
      origin,
      `answered without a PEM certificate in "${field}"; is it a confspace broker that issues certificates?`,
    );
  }
  const blocks = value.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length !== 1) {
    fail("reply", origin, `answered with ${blocks.length} certificates in "${field}" where one is expected`);
  }
  const pem = `${(blocks[0] as string).replace(/\r\n/g, "\n")}\n`;
  try {
    return { pem, cert: new X509Certificate(pem) };
  } catch (error) {
    return fail("reply", origin, `answered with a "${field}" that is not a valid X.509 certificate`, error);
  }
}

/** The SAN entries of one kind (`URI`, `DNS`), as node prints them. */
function altNames(cert: X509Certificate, kind: string): string[] {
  const text = cert.subjectAltName ?? "";
  return text
    .split(", ")
    .filter((entry) => entry.startsWith(`${kind}:`))
    .map((entry) => entry.slice(kind.length + 1));
}

export function checkCertificateReply(
  reply: UncheckedReply<CertificateReply>,
  publicKey: KeyObject,
  privateKey: KeyObject,
  origin: string,
  now: number,
): CheckedCertificate {
  const grant = reply.grant;
  if (typeof grant !== "string" || grant === "" || grant.length > MAX_GRANT_LENGTH || /[\s,]/.test(grant)) {
    fail("reply", origin, 'answered without a grant name in "grant"');
  }
  const refreshIn = reply.refresh_in;
  if (typeof refreshIn !== "number" || !Number.isFinite(refreshIn) || refreshIn < 0) {
    fail("reply", origin, 'answered without a number of seconds in "refresh_in"');
  }
  const leaf = onePem(reply.certificate, "certificate", origin);
  const ca = onePem(reply.ca_certificate, "ca_certificate", origin);

  if (!leaf.cert.publicKey.equals(publicKey) || !leaf.cert.checkPrivateKey(privateKey)) {
    fail("key_mismatch", origin, "returned a certificate for another key than the one this request was signed with");
  }
  if (!ca.cert.ca) fail("issuer", origin, 'returned a "ca_certificate" that is not a CA certificate');
  if (!leaf.cert.checkIssued(ca.cert) || !leaf.cert.verify(ca.cert.publicKey)) {
    fail("issuer", origin, 'returned a certificate that is not signed by its "ca_certificate"');
  }
  if (leaf.cert.ca) fail("usage", origin, "returned a CA certificate where a client certificate is expected");
  const usages = leaf.cert.keyUsage;
  if (usages === undefined || !usages.includes(OID_CLIENT_AUTH)) {
    fail("usage", origin, "returned a certificate whose extended key usage does not name client authentication");
  }
  const grantUris = altNames(leaf.cert, "URI").filter((uri) => uri.startsWith("urn:confspace:grant:"));
  if (grantUris.length !== 1 || grantUris[0] !== `urn:confspace:grant:${grant}`) {
    fail("grant", origin, `returned a certificate that does not name the grant "${grant}" it reported`);
  }
  const notBefore = leaf.cert.validFromDate.getTime();
  const expiresAt = leaf.cert.validToDate.getTime();
  if (expiresAt <= now) fail("expired", origin, "returned a certificate that has already expired; check the clocks");
  if (notBefore > now + NOT_BEFORE_SKEW_MS) {
    fail("not_yet_valid", origin, "returned a certificate that is not valid yet; check the clocks");
  }
  // The broker's hint, kept inside the certificate's life; without a usable one, at two thirds of it.
  const hinted = now + refreshIn * 1000;
  const refreshAt = hinted < expiresAt ? hinted : now + Math.floor(((expiresAt - now) * 2) / 3);
  return { certificatePem: leaf.pem, caPem: ca.pem, grant, expiresAt, refreshAt };
}
