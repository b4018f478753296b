import cluster from "node:cluster";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { type AttestationVerifier, createAttestationVerifier } from "@confspace/attestation/verify";
import { type Clock, ConfspaceError, type Logger, noopLogger, redactingLogger, systemClock } from "@confspace/core";
import { brokerEkmOptions } from "@confspace/ekm-tls";
import type { BrokerConfig } from "./config-types.js";
import { BrokerConfigError } from "./errors.js";
import { AwsUpstream } from "./internal/aws-upstream.js";
import { AzureUpstream } from "./internal/azure-upstream.js";
import {
  CONNECTION_DEFAULTS,
  FD_HEADROOM,
  fileDescriptorLimit,
  guardConnections,
  LISTEN_BACKLOG,
  sourceKey,
} from "./internal/connection-guard.js";
import { compileGrants } from "./internal/grants.js";
import { sendJson } from "./internal/http.js";
import { type MetricsListener, startMetricsListener } from "./internal/metrics-listener.js";
import { RateLimiter } from "./internal/rate-limiter.js";
import { handleTokenRequest, type TokenHandlerContext } from "./internal/token-handler.js";
import { rateLimitKey } from "./internal/workload-identity.js";
import { BrokerMetrics } from "./metrics.js";
import { validateBrokerConfig } from "./validate-config.js";

/** Options of {@link createBroker}. */
export interface CreateBrokerOptions {
  /** Where the broker logs (one line per request, never a token or secret). Wrapped with `redactingLogger`. Default: no logging. */
  logger?: Logger;
  /** Time for verification, caches and rate limits. Default `systemClock`. */
  clock?: Clock;
  /** Where `…Env` variables of the configuration are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** `fetch` for the issuer's discovery document and JWKS. Default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
}

/** Where a listening broker can be reached. */
export interface BrokerAddress {
  /** `https://host:port`. */
  url: string;
  host: string;
  port: number;
}

/** Options of {@link Broker.close}. */
export interface CloseOptions {
  /** How long in-flight requests may take before connections are cut, ms. Default `limits.shutdownTimeoutSeconds` (10 s). */
  timeoutMs?: number;
}

/**
 * A token broker: an HTTPS (TLS 1.3) server answering `POST /v1/token` and `GET /healthz`,
 * and, unless `metrics: false`, a plain-HTTP listener (loopback by default) answering
 * `GET /metrics`.
 */
export interface Broker extends AsyncDisposable {
  /**
   * Reads the TLS files, starts listening and resolves with the address. Also fetches the
   * issuer's keys in the background (a failure is logged; requests retry it).
   *
   * @throws {BrokerConfigError} a configured file cannot be read (`field` names it).
   * @throws {ConfspaceError} `ERR_BROKER_LISTEN`: the address (or the metrics address) is in
   *   use or not available; nothing is left listening, so `listen()` may be called again.
   */
  listen(): Promise<BrokerAddress>;
  /** The address once listening. */
  readonly address: BrokerAddress | undefined;
  /** Where `GET /metrics` is served (`http://…`) once listening; undefined with `metrics: false`. */
  readonly metricsAddress: BrokerAddress | undefined;
  /** The metrics served by `GET /metrics`. */
  readonly metrics: BrokerMetrics;
  /**
   * Graceful shutdown: stops accepting connections, lets in-flight requests finish (until
   * the deadline, then cuts connections), then disposes caches and upstream clients.
   * Idempotent; resolves when everything is closed.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Creates a token broker from a configuration object (validated here, like a file read by
 * `loadBrokerConfig`). Environment variables named by the configuration are read now;
 * files when `listen()` is called.
 *
 * @throws {BrokerConfigError} the configuration is invalid or names an unset variable.
 *
 * @example
 * ```ts
 * const broker = createBroker(await loadBrokerConfig("broker.yaml"), { logger: jsonLogger() });
 * const { url } = await broker.listen();
 * process.once("SIGTERM", () => broker.close());
 * ```
 */
export function createBroker(config: BrokerConfig, options: CreateBrokerOptions = {}): Broker {
  const valid = validateBrokerConfig(config);
  // No logger: skip redaction work on every request (there is nothing to protect).
  const logger = options.logger === undefined ? noopLogger : redactingLogger(options.logger);
  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  const metrics = new BrokerMetrics();
  const limits = valid.limits ?? {};
  const timeoutMs = (limits.upstreamTimeoutSeconds ?? 10) * 1000;

  const verifier = buildVerifier(valid, clock, options.fetch);
  const azureTenants = valid.upstreams?.azure;
  const azure =
    azureTenants === undefined
      ? undefined
      : new AzureUpstream({ tenants: azureTenants, env, clock, metrics, timeoutMs });
  let aws: AwsUpstream | undefined;
  try {
    aws =
      valid.upstreams?.aws === undefined
        ? undefined
        : new AwsUpstream({ config: valid.upstreams.aws, env, metrics, timeoutMs });
  } catch (error) {
    azure?.dispose();
    throw error;
  }
  let server: Server | undefined;
  let address: BrokerAddress | undefined;
  let metricsListener: MetricsListener | undefined;
  let closing: Promise<void> | undefined;
  const inflight = new Set<Promise<void>>();
  const rate = limits.rateLimit ?? {};
  const context: TokenHandlerContext = {
    verifier,
    // The exporter context as bytes once, rather than UTF-8-encoding the audience per request.
    ekmOptions: {
      ...brokerEkmOptions(valid.attestation.audience),
      context: Buffer.from(valid.attestation.audience, "utf8"),
    },
    grants: compileGrants(valid.grants),
    azure,
    aws,
    rateLimiter: new RateLimiter({
      ratePerSecond: rate.ratePerSecond ?? 1,
      burst: rate.burst ?? 10,
      now: () => clock.now(),
    }),
    rateLimitKey: rateLimitKey(rate.per ?? "instance"),
    sourceRateLimiter: new RateLimiter({
      ratePerSecond: limits.sourceRateLimit?.ratePerSecond ?? 20,
      burst: limits.sourceRateLimit?.burst ?? 100,
      now: () => clock.now(),
    }),
    sourceKey,
    metrics,
    logger,
    clock,
    maxBodyBytes: limits.maxBodyBytes ?? 65_536,
    logging: options.logger !== undefined,
    shuttingDown: () => closing !== undefined,
  };
  const metricsConfig = valid.metrics === false ? undefined : valid.metrics === true ? {} : (valid.metrics ?? {});

  const route = (req: IncomingMessage, res: ServerResponse) => {
    if (closing !== undefined) res.setHeader("connection", "close");
    const path = (req.url ?? "/").split("?", 1)[0];
    const allow = path === "/v1/token" ? "POST" : path === "/healthz" ? "GET" : undefined;
    if (allow === undefined) return sendJson(res, 404, { error: "not_found", error_description: "unknown path" });
    if (req.method !== allow && !(allow === "GET" && req.method === "HEAD")) {
      return sendJson(res, 405, { error: "method_not_allowed", error_description: `use ${allow}` }, { allow });
    }
    if (path === "/healthz") {
      return sendJson(res, closing === undefined ? 200 : 503, {
        status: closing === undefined ? "ok" : "shutting_down",
      });
    }
    const done = handleTokenRequest(context, req, res)
      .catch(() => {
        // Only a throwing logger gets here: the request itself has been answered or cut.
        if (!res.headersSent) res.destroy();
      })
      .finally(() => inflight.delete(done));
    inflight.add(done);
  };

  const broker: Broker = {
    get address() {
      return address;
    },
    get metricsAddress() {
      if (metricsListener === undefined) return undefined;
      const { url, host, port } = metricsListener;
      return { url, host, port };
    },
    metrics,
    async listen() {
      if (server !== undefined) throw new Error("the broker is already listening");
      if (closing !== undefined) throw new Error("the broker has been closed");
      const tls = await readTlsFiles(valid);
      await azure?.checkFiles();
      const requestTimeoutMs = (limits.requestTimeoutSeconds ?? 10) * 1000;
      const options = {
        ...tls,
        // No client CA: an empty store, not the process's default trust store. The server
        // then sends certFile's chain as it is, rather than OpenSSL rebuilding (and checking)
        // a chain from that store on every handshake when the process trusts the broker's
        // own CA (NODE_EXTRA_CA_CERTS, as in the demo): ~0.07 ms per connection.
        ca: tls.ca ?? [],
        // TLS 1.3 only: exported keying material is only bound to one connection there.
        minVersion: "TLSv1.3",
        maxVersion: "TLSv1.3",
        ALPNProtocols: ["http/1.1"],
        requestCert: tls.ca !== undefined,
        rejectUnauthorized: tls.ca !== undefined && valid.tls.requireClientCertificate !== false,
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
      try {
        server = createServer(options, route);
      } catch (error) {
        // OpenSSL refuses a malformed PEM or a key that does not match the certificate here.
        throw new BrokerConfigError(
          "the certificate and key cannot be used together (malformed PEM or mismatched key)",
          {
            field: "tls",
            cause: error,
          },
        );
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
      const host = valid.listen?.host ?? "0.0.0.0";
      const port = valid.listen?.port ?? 8443;
      const listening = server;
      try {
        await new Promise<void>((resolve, reject) => {
          listening.once("error", reject);
          // A `--workers` worker binds its own socket (exclusive: not through the cluster
          // primary) with SO_REUSEPORT, so all workers share the port (internal/workers.ts).
          const shared = cluster.isWorker ? { exclusive: true, reusePort: true } : {};
          listening.listen({ port, host, backlog: LISTEN_BACKLOG, ...shared }, () => {
            listening.off("error", reject);
            resolve();
          });
        });
      } catch (error) {
        server = undefined;
        const code = (error as { code?: string }).code ?? "an error";
        throw new ConfspaceError("ERR_BROKER_LISTEN", `The broker cannot listen on ${host}:${port} (${code}).`, {
          cause: error,
        });
      }
      if (metricsConfig !== undefined) {
        try {
          metricsListener = await startMetricsListener(metricsConfig, () => metrics.render());
        } catch (error) {
          server = undefined;
          await new Promise<void>((resolve) => listening.close(() => resolve()));
          throw error;
        }
      }
      const bound = listening.address() as AddressInfo;
      const shownHost = bound.address.includes(":") ? `[${bound.address}]` : bound.address;
      address = { url: `https://${shownHost}:${bound.port}`, host: bound.address, port: bound.port };
      logger.info("broker listening", {
        url: address.url,
        grants: valid.grants.length,
        ...(metricsListener === undefined ? {} : { metrics: `${metricsListener.url}/metrics` }),
      });
      verifier.ready().catch((error: unknown) => {
        logger.warn("the attestation issuer's keys could not be fetched at startup; retrying on demand", { error });
      });
      return address;
    },
    close(closeOptions = {}) {
      closing ??= shutdown(closeOptions.timeoutMs ?? (limits.shutdownTimeoutSeconds ?? 10) * 1000);
      return closing;
    },
    [Symbol.asyncDispose]() {
      return broker.close();
    },
  };

  async function shutdown(deadlineMs: number): Promise<void> {
    const current = server;
    if (current !== undefined) {
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      current.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"deadline">((resolve) => {
        timer = setTimeout(() => resolve("deadline"), deadlineMs);
      });
      const result = await Promise.race([Promise.allSettled([...inflight]).then(() => "drained" as const), deadline]);
      if (result === "deadline")
        logger.warn("shutdown deadline reached; cutting connections", { inflight: inflight.size });
      current.closeIdleConnections();
      if (result === "deadline") current.closeAllConnections();
      else setTimeout(() => current.closeAllConnections(), 1_000).unref();
      await closed;
      clearTimeout(timer);
    }
    await metricsListener?.close();
    azure?.dispose();
    aws?.dispose();
    logger.info("broker closed");
  }

  return broker;
}

function buildVerifier(
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
  const read = async (path: string, field: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new BrokerConfigError("the file cannot be read", { field, cause: error });
    }
  };
  const [cert, key, ca] = await Promise.all([
    read(config.tls.certFile, "tls.certFile"),
    read(config.tls.keyFile, "tls.keyFile"),
    config.tls.clientCaFile === undefined ? undefined : read(config.tls.clientCaFile, "tls.clientCaFile"),
  ]);
  return ca === undefined ? { cert, key } : { cert, key, ca };
}
