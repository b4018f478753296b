import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { BrokerConfigError } from "../errors.js";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads an upstream's `caFile`: one or more PEM certificates that replace Node's root CAs
 * for that upstream's HTTPS connections (a private CA in front of Entra or STS), so the
 * broker needs no process-wide `NODE_EXTRA_CA_CERTS`. Read at construction, so a typo
 * fails at startup.
 *
 * @throws {BrokerConfigError} naming `field`: the file cannot be read or holds no valid certificate.
 */
export function readCaFile(path: string, field: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new BrokerConfigError("the CA file cannot be read", { field, cause: error });
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) {
    throw new BrokerConfigError("the CA file holds no PEM certificate", { field });
  }
  for (const pem of certificates) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new BrokerConfigError("the CA file holds a certificate that does not parse", { field, cause: error });
    }
  }
  return certificates;
}
