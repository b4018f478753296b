// The token listener's parts: the attestation verifier, the TLS 1.3 server and binding
// a server to its address. createBroker (broker.ts) puts them together.
import cluster from "node:cluster";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { type AttestationVerifier, createAttestationVerifier } from "@confspace/attestation/verify";
import { type Clock, ConfspaceError, type Logger } from "@confspace/core";
import type { BrokerConfig } from "../config-types.js";
import { BrokerConfigError } from "../errors.js";
import type { BrokerMetrics } from "../metrics.js";
import { readConfiguredFiles } from "./config-files.js";
import {
  CONNECTION_DEFAULTS,
  FD_HEADROOM,
  fileDescriptorLimit,
  guardConnections,
  LISTEN_BACKLOG,
} from "./connection-guard.js";

/** The verifier of `attestation`. @throws {BrokerConfigError} `attestation`: the verifier refused its options. */
export function buildVerifier(
  config: BrokerConfig,
  clock: Clock,
  fetch: typeof globalThis.fetch | undefined,
): AttestationVerifier {
  const a = config.attestation;
  try {
    return createAttestationVerifier({
      audience: a.audience,
      requireNonce: true,
      clock: () => clock.now(),
      ...(a.issuer === undefined ? {} : { issuer: a.issuer }),
      ...(a.tokenType === undefined ? {} : { tokenType: a.tokenType }),
      ...(a.pkiRootFingerprint === undefined ? {} : { pkiRootFingerprint: a.pkiRootFingerprint }),
      ...(a.jwksUri === undefined ? {} : { jwksUri: a.jwksUri }),
      policy: a.policy,
      ...(a.clockToleranceSeconds === undefined ? {} : { clockToleranceMs: a.clockToleranceSeconds * 1000 }),
      ...(a.maxTokenAgeSeconds === undefined ? {} : { maxTokenAgeMs: a.maxTokenAgeSeconds * 1000 }),
      ...(fetch === undefined ? {} : { fetch }),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : "is invalid";
    throw new BrokerConfigError(message, { field: "attestation", cause: error });
  }
}

async function readTlsFiles(config: BrokerConfig): Promise<{ cert: Buffer; key: Buffer; ca?: Buffer }> {
  const { certFile, keyFile, clientCaFile } = config.tls;
  if (clientCaFile === undefined) {
    const [cert, key] = await readConfiguredFiles([
      { path: certFile, field: "tls.certFile" },
      { path: keyFile, field: "tls.keyFile" },
    ]);
    return { cert, key };
  }
  const [cert, key, ca] = await readConfiguredFiles([
    { path: certFile, field: "tls.certFile" },
    { path: keyFile, field: "tls.keyFile" },
    { path: clientCaFile, field: "tls.clientCaFile" },
  ]);
  return { cert, key, ca };
}

/**
 * The HTTPS server options every broker listener shares (the token listener and the key
 * service): TLS 1.3 only, HTTP/1.1, and timeouts and sizes from the `limits` section.
 */
export function listenerOptions(limits: { requestTimeoutSeconds?: number; handshakeTimeoutSeconds?: number }) {
  const requestTimeoutMs = (limits.requestTimeoutSeconds ?? 10) * 1000;
  return {
    // TLS 1.3 only: exported keying material is only bound to one connection there.
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    ALPNProtocols: ["http/1.1"],
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(requestTimeoutMs, 10_000),
    // Node checks the two timeouts above only this often (default 30 s): a slow client
    // would hold its connection three times longer than configured.
    connectionsCheckingInterval: 1_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 16_384,
    // Node's default is 120 s: a client that never sends a ClientHello would hold a
    // descriptor for two minutes.
    handshakeTimeout: (limits.handshakeTimeoutSeconds ?? CONNECTION_DEFAULTS.handshakeTimeoutSeconds) * 1000,
  } as const;
}

/**
 * The token listener's HTTPS server (TLS 1.3 only, timeouts and connection caps from
 * `limits`), not yet listening.
 *
 * @throws {BrokerConfigError} a TLS file cannot be read, or the certificate and key do not go together.
 */
export async function createTokenServer(
  config: BrokerConfig,
  route: (req: IncomingMessage, res: ServerResponse) => void,
  logger: Logger,
  metrics: BrokerMetrics,
): Promise<Server> {
  const limits = config.limits ?? {};
  const tls = await readTlsFiles(config);
  const options = {
    ...tls,
    // No client CA: an empty store, not the process's default trust store. The server
    // then sends certFile's chain as it is, rather than OpenSSL rebuilding (and checking)
    // a chain from that store on every handshake when the process trusts the broker's
    // own CA (NODE_EXTRA_CA_CERTS, as in the demo): ~0.07 ms per connection.
    ca: tls.ca ?? [],
    requestCert: tls.ca !== undefined,
    rejectUnauthorized: tls.ca !== undefined && config.tls.requireClientCertificate !== false,
    ...listenerOptions(limits),
  } as const;
  let server: Server;
  try {
    server = createServer(options, route);
  } catch (error) {
    // OpenSSL refuses a malformed PEM or a key that does not match the certificate here.
    throw new BrokerConfigError("the certificate and key cannot be used together (malformed PEM or mismatched key)", {
      field: "tls",
      cause: error,
    });
  }
  server.on("tlsClientError", (error: Error & { code?: string }) => {
    logger.debug("TLS handshake refused", { code: error.code, reason: error.message });
  });
  const maxConnections = limits.maxConnections ?? CONNECTION_DEFAULTS.maxConnections;
  guardConnections(server, {
    maxConnections,
    maxConnectionsPerSource: limits.maxConnectionsPerSource ?? CONNECTION_DEFAULTS.maxConnectionsPerSource,
    onRefused: (reason) => metrics.connectionsRefused.inc({ reason }),
    onOpenChange: (open) => metrics.openConnections.set(open),
  });
  const fdLimit = fileDescriptorLimit();
  if (fdLimit !== undefined && maxConnections + FD_HEADROOM > fdLimit) {
    logger.warn("the file-descriptor limit leaves too little room for limits.maxConnections", {
      fileDescriptorLimit: fdLimit,
      maxConnections,
      advice: `raise ulimit -n to at least ${maxConnections + FD_HEADROOM}, or lower limits.maxConnections`,
    });
  }
  return server;
}

/** Where a server listens. */
export interface ListeningAddress {
  /** `https://host:port` (IPv6 hosts in brackets). */
  url: string;
  host: string;
  port: number;
}

/**
 * Binds `server` to `host:port` and resolves with the address. In a `--workers` worker
 * the socket is its own (exclusive, SO_REUSEPORT), so all workers share the port
 * (internal/workers.ts).
 *
 * @throws {ConfspaceError} `ERR_BROKER_LISTEN`: the address is in use or not available; nothing is left listening.
 */
export async function listenOn(
  server: Server,
  host: string,
  port: number,
  what = "The broker",
): Promise<ListeningAddress> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      const shared = cluster.isWorker ? { exclusive: true, reusePort: true } : {};
      server.listen({ port, host, backlog: LISTEN_BACKLOG, ...shared }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "an error";
    throw new ConfspaceError("ERR_BROKER_LISTEN", `${what} cannot listen on ${host}:${port} (${code}).`, {
      cause: error,
    });
  }
  const bound = server.address() as AddressInfo;
  const shownHost = bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  return { url: `https://${shownHost}:${bound.port}`, host: bound.address, port: bound.port };
}

/**
 * Closes `server` gracefully: no new connections, idle ones closed, then waits for the
 * requests in `inflight` until `deadlineMs`. Past the deadline `onDeadline` is called and
 * every connection is cut; otherwise the remaining keep-alive sockets get one more second.
 * Resolves once the server has closed.
 */
export async function drainServer(
  server: Server,
  inflight: ReadonlySet<Promise<void>>,
  deadlineMs: number,
  onDeadline: () => void,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), deadlineMs);
  });
  const result = await Promise.race([Promise.allSettled([...inflight]).then(() => "drained" as const), deadline]);
  server.closeIdleConnections();
  if (result === "deadline") {
    onDeadline();
    server.closeAllConnections();
  } else setTimeout(() => server.closeAllConnections(), 1_000).unref();
  await closed;
  clearTimeout(timer);
}
