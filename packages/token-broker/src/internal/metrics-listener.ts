import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfspaceError } from "@confspace/core";
import type { MetricsConfig } from "../config-types.js";
import { PROMETHEUS_CONTENT_TYPE } from "../metrics.js";
import { sendJson, sendText } from "./http.js";

/** Where metrics are served by default: loopback only, the port Prometheus exporters commonly use. */
export const METRICS_DEFAULTS = { host: "127.0.0.1", port: 9464 } as const;

/** A running metrics listener. */
export interface MetricsListener {
  /** `http://host:port`. */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) on its own plain-HTTP listener, apart
 * from the token listener: scraping needs no TLS client, and the token port exposes
 * nothing but the protocol. Loopback by default.
 *
 * @throws {ConfspaceError} `ERR_BROKER_LISTEN`: the address is in use or not available.
 */
export async function startMetricsListener(
  config: MetricsConfig,
  render: () => string | Promise<string>,
): Promise<MetricsListener> {
  const server: Server = createServer(
    { requestTimeout: 5_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8_192 },
    (req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (path !== "/metrics") return sendJson(res, 404, { error: "not_found", error_description: "unknown path" });
      if (req.method !== "GET" && req.method !== "HEAD") {
        return sendJson(res, 405, { error: "method_not_allowed", error_description: "use GET" }, { allow: "GET" });
      }
      Promise.resolve()
        .then(render)
        .then(
          (text) => sendText(res, 200, text, PROMETHEUS_CONTENT_TYPE),
          () => sendJson(res, 500, { error: "server_error", error_description: "the metrics could not be collected" }),
        );
    },
  );
  // A scraper needs a handful of connections; cap them so the listener cannot eat descriptors.
  server.maxConnections = 16;
  const host = config.host ?? METRICS_DEFAULTS.host;
  const port = config.port ?? METRICS_DEFAULTS.port;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "an error";
    throw new ConfspaceError(
      "ERR_BROKER_LISTEN",
      `The broker cannot serve metrics on ${host}:${port} (${code}); set metrics.port, or metrics: false.`,
      { cause: error },
    );
  }
  const bound = server.address() as AddressInfo;
  const shownHost = bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shownHost}:${bound.port}`,
    host: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
