import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "node:https";
import { type Clock, type Logger, noopLogger, redactingLogger, systemClock } from "@confspace/core";
import { brokerEkmOptions } from "@confspace/ekm-tls";
import type { BrokerConfig } from "./config-types.js";
import { sourceKey } from "./internal/connection-guard.js";
import { compileGrants } from "./internal/grants.js";
import { sendJson } from "./internal/http.js";
import { type MetricsListener, startMetricsListener } from "./internal/metrics-listener.js";
import { RateLimiter } from "./internal/rate-limiter.js";
import { handleTokenRequest, type TokenHandlerContext } from "./internal/token-handler.js";
import { requestParser } from "./internal/token-request.js";
import { buildVerifier, createTokenServer, drainServer, listenOn } from "./internal/token-server.js";
import { rateLimitKey } from "./internal/workload-identity.js";
import { BrokerMetrics } from "./metrics.js";
import type { AnyProviderRuntime, BrokerSetup, ServiceRuntime } from "./providers/provider.js";
import { PROVIDERS, SERVICES } from "./providers/registry.js";
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
  /** Where a service of the broker (its own listener, e.g. `"keyService"`) listens once listening; undefined when not configured. */
  serviceAddress(name: string): BrokerAddress | undefined;
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
  const metrics = new BrokerMetrics();
  const limits = valid.limits ?? {};
  const setup: BrokerSetup = {
    config: valid,
    env: options.env ?? process.env,
    clock,
    metrics,
    logger,
    logging: options.logger !== undefined,
    upstreamTimeoutMs: (limits.upstreamTimeoutSeconds ?? 10) * 1000,
  };

  const verifier = buildVerifier(valid, clock, options.fetch);
  const { runtimes, services } = startParts(setup);
  let server: Server | undefined;
  let address: BrokerAddress | undefined;
  let metricsListener: MetricsListener | undefined;
  const serviceAddresses = new Map<string, BrokerAddress>();
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
    grants: compileGrants(valid.grants, PROVIDERS),
    providers: new Map(PROVIDERS.map((p) => [p.name, p])),
    parse: requestParser(PROVIDERS),
    runtimes,
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
    logging: setup.logging,
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
    serviceAddress: (name) => serviceAddresses.get(name),
    async listen() {
      if (server !== undefined) throw new Error("the broker is already listening");
      if (closing !== undefined) throw new Error("the broker has been closed");
      const created = await createTokenServer(valid, route, logger, metrics);
      for (const runtime of runtimes.values()) await runtime.checkFiles?.();
      server = created;
      const host = valid.listen?.host ?? "0.0.0.0";
      const port = valid.listen?.port ?? 8443;
      let bound: BrokerAddress;
      try {
        bound = await listenOn(created, host, port);
      } catch (error) {
        server = undefined;
        throw error;
      }
      // Then the metrics listener and the services; a failure closes what already listens.
      try {
        if (metricsConfig !== undefined) {
          metricsListener = await startMetricsListener(metricsConfig, () => metrics.render());
        }
        for (const [name, service] of services) {
          const at = await service.listen();
          if (at !== undefined) serviceAddresses.set(name, at);
        }
      } catch (error) {
        server = undefined;
        const listener = metricsListener;
        metricsListener = undefined;
        serviceAddresses.clear();
        await Promise.all([
          new Promise<void>((resolve) => created.close(() => resolve())),
          listener?.close(),
          ...[...services.values()].map((service) => service.close(0)),
        ]);
        throw error;
      }
      address = bound;
      logger.info("broker listening", {
        url: address.url,
        grants: valid.grants.length,
        ...(metricsListener === undefined ? {} : { metrics: `${metricsListener.url}/metrics` }),
        ...Object.fromEntries([...serviceAddresses].map(([name, at]) => [name, at.url])),
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
    // The services drain alongside the token listener, under the same deadline.
    const servicesClosed = Promise.all([...services.values()].map((service) => service.close(deadlineMs)));
    if (current !== undefined) {
      await drainServer(current, inflight, deadlineMs, () =>
        logger.warn("shutdown deadline reached; cutting connections", { inflight: inflight.size }),
      );
    }
    await servicesClosed;
    await metricsListener?.close();
    await Promise.all([...runtimes.values()].map((runtime) => runtime.dispose?.()));
    logger.info("broker closed");
  }

  return broker;
}

/**
 * Starts every configured provider and service, in registry order. If one throws (an
 * unset variable, an unreadable file), those already started are disposed.
 */
function startParts(setup: BrokerSetup): {
  runtimes: Map<string, AnyProviderRuntime>;
  services: Map<string, ServiceRuntime>;
} {
  const runtimes = new Map<string, AnyProviderRuntime>();
  const services = new Map<string, ServiceRuntime>();
  try {
    for (const provider of PROVIDERS) {
      const runtime = provider.start(setup);
      if (runtime !== undefined) runtimes.set(provider.name, runtime);
    }
    for (const service of SERVICES) {
      const runtime = service.start(setup);
      if (runtime !== undefined) services.set(service.name, runtime);
    }
  } catch (error) {
    for (const runtime of runtimes.values()) void runtime.dispose?.();
    for (const service of services.values()) void service.close(0);
    throw error;
  }
  return { runtimes, services };
}
