// The key service's listener: TLS 1.3, client certificates of the workload CA required at
// the handshake, the transit API behind it. Started and closed with the broker.
import { createServer, type Server } from "node:https";
import { type Clock, type Logger, noopLogger, systemClock } from "@confspace/core";
import { BrokerConfigError } from "../errors.js";
import { readConfiguredFiles } from "../internal/config-files.js";
import { CONNECTION_DEFAULTS, guardConnections } from "../internal/connection-guard.js";
import { drainServer, listenerOptions, listenOn } from "../internal/token-server.js";
import type { KeyServiceConfig } from "./config.js";
import { Keyring } from "./keyring.js";
import { KeyServiceMetrics } from "./metrics.js";
import { loadRoots } from "./roots.js";
import { handleTransitRequest, type TransitContext } from "./transit-api.js";

/** Defaults of the `keyService` section. */
export const KEY_SERVICE_DEFAULTS = {
  host: "0.0.0.0",
  port: 8444,
  mountPath: "transit",
  maxBodyBytes: 65_536,
} as const;

/** What the key service takes from the rest of the broker. */
export interface KeyServiceOptions {
  /** Path of the workload CA certificate (`certificates.caCertFile`): client certificates must chain to it. */
  clientCaFile: string;
  /** Server certificate when `keyService.tls` is not set (the token listener's `tls`). */
  defaultTls: { certFile: string; keyFile: string };
  /**
   * The keys the CURRENT configuration gives a grant (`grants[].certificate.keys`), or
   * `undefined` when there is no such grant. Asked on every request.
   */
  grantKeys(grant: string): readonly string[] | undefined;
  /** Where `env` roots and `accessTokenEnv` are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Already redacting (the broker wraps it). Default: no logging. */
  logger?: Logger;
  clock?: Clock;
  metrics?: KeyServiceMetrics;
  /** Path of the section, for error messages. Default `keyService`. */
  path?: string;
  /** The token listener's limits, reused here. */
  limits?: {
    requestTimeoutSeconds?: number;
    handshakeTimeoutSeconds?: number;
    maxConnections?: number;
    maxConnectionsPerSource?: number;
    upstreamTimeoutSeconds?: number;
  };
}

/** A listening key service. */
export interface KeyService {
  /** `https://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly metrics: KeyServiceMetrics;
  /** Newest key version (the newest root's). */
  readonly latestVersion: number;
  /**
   * Stops accepting, lets in-flight requests finish until `timeoutMs`, then cuts
   * connections and zeroes every root and derived key. Idempotent.
   */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Reads the roots (decrypting KMS-wrapped ones) and the TLS files, then listens.
 *
 * @throws {BrokerConfigError} a root or TLS file is unreadable or invalid (`field` names it).
 * @throws {ConfspaceError} `ERR_KEY_SERVICE_KMS`: Cloud KMS refused a wrapped root;
 *   `ERR_BROKER_LISTEN`: the address is in use or not available.
 */
export async function startKeyService(config: KeyServiceConfig, options: KeyServiceOptions): Promise<KeyService> {
  const path = options.path ?? "keyService";
  const logger = options.logger ?? noopLogger;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? new KeyServiceMetrics();
  const limits = options.limits ?? {};
  const tlsFiles = config.tls ?? options.defaultTls;
  const tlsPath = config.tls === undefined ? "tls" : `${path}.tls`;
  const [cert, key, ca] = await readConfiguredFiles([
    { path: tlsFiles.certFile, field: `${tlsPath}.certFile` },
    { path: tlsFiles.keyFile, field: `${tlsPath}.keyFile` },
    { path: options.clientCaFile, field: "certificates.caCertFile" },
  ]);
  const roots = await loadRoots(config.roots, {
    path: `${path}.roots`,
    env: options.env ?? process.env,
    kmsTimeoutMs: (limits.upstreamTimeoutSeconds ?? 10) * 1000,
  });
  const keyring = new Keyring(roots, config.keys ?? {});
  let closing: Promise<void> | undefined;
  const inflight = new Set<Promise<void>>();
  const context: TransitContext = {
    keyring,
    mountPath: config.mountPath ?? KEY_SERVICE_DEFAULTS.mountPath,
    grantKeys: (grant) => options.grantKeys(grant),
    metrics,
    logger,
    logging: options.logger !== undefined,
    clock,
    maxBodyBytes: config.maxBodyBytes ?? KEY_SERVICE_DEFAULTS.maxBodyBytes,
    shuttingDown: () => closing !== undefined,
  };
  let server: Server;
  try {
    server = createServer(
      {
        cert,
        key,
        ca,
        requestCert: true,
        // Refused at the handshake: no certificate, an expired one, one of another CA.
        rejectUnauthorized: true,
        ...listenerOptions(limits),
      },
      (req, res) => {
        if (closing !== undefined) res.setHeader("connection", "close");
        const done = handleTransitRequest(context, req, res)
          .catch(() => {
            // Only a throwing logger gets here: the request itself has been answered or cut.
            if (!res.headersSent) res.destroy();
          })
          .finally(() => inflight.delete(done));
        inflight.add(done);
      },
    );
  } catch (error) {
    keyring.dispose();
    throw new BrokerConfigError("the certificate and key cannot be used together (malformed PEM or mismatched key)", {
      field: tlsPath,
      cause: error,
    });
  }
  server.on("tlsClientError", (error: Error & { code?: string }) => {
    metrics.handshakeFailures.inc();
    logger.debug("key service TLS handshake refused", { code: error.code, reason: error.message });
  });
  guardConnections(server, {
    maxConnections: limits.maxConnections ?? CONNECTION_DEFAULTS.maxConnections,
    maxConnectionsPerSource: limits.maxConnectionsPerSource ?? CONNECTION_DEFAULTS.maxConnectionsPerSource,
    onRefused: () => metrics.handshakeFailures.inc(),
    onOpenChange: (open) => metrics.openConnections.set(open),
  });
  const host = config.listen?.host ?? KEY_SERVICE_DEFAULTS.host;
  const port = config.listen?.port ?? KEY_SERVICE_DEFAULTS.port;
  let bound: { url: string; host: string; port: number };
  try {
    // A `--workers` worker binds its own socket with SO_REUSEPORT, as the token listener does.
    bound = await listenOn(server, host, port, "The key service");
  } catch (error) {
    keyring.dispose();
    throw error;
  }
  const { url } = bound;
  logger.info("key service listening", { url, mountPath: context.mountPath, keyVersion: keyring.latestVersion });

  async function shutdown(deadlineMs: number): Promise<void> {
    await drainServer(server, inflight, deadlineMs, () =>
      logger.warn("key service shutdown deadline reached; cutting connections", { inflight: inflight.size }),
    );
    keyring.dispose();
    logger.info("key service closed");
  }

  return {
    url,
    host: bound.host,
    port: bound.port,
    metrics,
    latestVersion: keyring.latestVersion,
    close(timeoutMs = 10_000) {
      closing ??= shutdown(timeoutMs);
      return closing;
    },
  };
}
