// Who is calling the key service: the grant and workload named by the verified client
// certificate's URI SANs (written by the broker's `certificate` provider).
import type { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";

/** The URI SAN naming the grant a workload certificate was issued for. */
export const GRANT_URI_PREFIX = "urn:confspace:grant:";
/** The URI SAN naming the verified workload identity. */
export const WORKLOAD_URI_PREFIX = "urn:confspace:workload:";
const GRANT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The caller, from its certificate. */
export interface PeerIdentity {
  /** The grant the certificate was issued for. */
  grant: string;
  /** The verified workload identity, when the certificate names one. */
  workload: string | undefined;
  /** When the certificate expires (ms since the epoch). */
  expiresAt: number;
  /** Serial number (hex), for logs. */
  serial: string;
}

/**
 * Reads the caller's identity from the TLS connection, or a reason it has none. The
 * certificate has been verified against the workload CA by the handshake already.
 */
export function peerIdentity(socket: TLSSocket): PeerIdentity | { problem: string } {
  if (!socket.authorized) return { problem: "a client certificate issued by the broker's workload CA is required" };
  let certificate: X509Certificate | undefined;
  try {
    certificate = socket.getPeerX509Certificate();
  } catch {
    certificate = undefined;
  }
  if (certificate === undefined)
    return { problem: "a client certificate issued by the broker's workload CA is required" };
  const uris = sanUris(certificate.subjectAltName);
  const grants = uris
    .filter((uri) => uri.startsWith(GRANT_URI_PREFIX))
    .map((uri) => uri.slice(GRANT_URI_PREFIX.length));
  if (grants.length !== 1 || !GRANT_NAME.test(grants[0]!)) {
    return { problem: `the client certificate must name exactly one grant (URI SAN ${GRANT_URI_PREFIX}<name>)` };
  }
  const workloads = uris.filter((uri) => uri.startsWith(WORKLOAD_URI_PREFIX));
  return {
    grant: grants[0]!,
    workload: workloads.length === 1 ? workloads[0]!.slice(WORKLOAD_URI_PREFIX.length) : undefined,
    expiresAt: Date.parse(certificate.validTo),
    serial: certificate.serialNumber,
  };
}

/**
 * URI entries of Node's `subjectAltName` text (`DNS:a, URI:urn:x, …`; entries holding
 * `,` or quotes are JSON-quoted: `URI:"urn:a,b"`).
 */
export function sanUris(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const uris: string[] = [];
  const entry = /\s*([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/y;
  while (entry.lastIndex < subjectAltName.length) {
    const match = entry.exec(subjectAltName);
    if (match === null || match[0].length === 0) break;
    if (match[1] !== "URI") continue;
    const raw = match[2]!;
    if (!raw.startsWith('"')) uris.push(raw);
    else {
      try {
        uris.push(JSON.parse(raw) as string);
      } catch {
        // A quoted value Node produced but JSON cannot read: not one of ours.
      }
    }
  }
  return uris;
}
