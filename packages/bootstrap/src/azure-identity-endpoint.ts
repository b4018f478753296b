// A loopback endpoint speaking Azure App Service's managed-identity protocol (api-version
// 2019-08-01), backed by a TokenCredential (the broker credential), so
// ManagedIdentityCredential / DefaultAzureCredential in any language work unchanged:
//   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R   with header X-IDENTITY-HEADER: {IDENTITY_HEADER}
//   200 {"access_token", "expires_on": "<epoch seconds>", "resource", "token_type": "Bearer"}
// (Azure's SDKs parse expires_on as a number of seconds; App Service sends it as a string.)
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TokenCredential } from "@azure/core-auth";
import { ConfspaceError, type Logger, noopLogger, redactingLogger } from "@confspace/core";

/** The only protocol version served. */
export const AZURE_IDENTITY_API_VERSION = "2019-08-01";
/** The path of the token endpoint. */
export const AZURE_IDENTITY_PATH = "/msi/token";

/** Options of {@link startAzureIdentityEndpoint}. */
export interface AzureIdentityEndpointOptions {
  /** Where tokens come from; `getToken(resource + "/.default")`. Usually a `ConfidentialSpaceBrokerCredential`. */
  credential: TokenCredential;
  /** Logs requests (resource and outcome, never a token or the header secret). Default: none. */
  logger?: Logger;
}

/** A running endpoint. */
export interface AzureIdentityEndpoint {
  /** `http://127.0.0.1:PORT/msi/token`: the value of `IDENTITY_ENDPOINT`. */
  readonly endpoint: string;
  /** 32 random bytes, hex: the value of `IDENTITY_HEADER`. Give it only to the app. */
  readonly header: string;
  /** `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`, for the app's environment. */
  env(): { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

const QUERY_KEYS = new Set(["api-version", "resource"]);

/**
 * Starts the endpoint on 127.0.0.1, a random port. It answers only `GET /msi/token` with
 * the right `X-IDENTITY-HEADER` (compared in constant time) and a `Host` of exactly
 * `127.0.0.1:PORT` or `localhost:PORT` (so a web page cannot reach it by DNS rebinding);
 * `client_id`, `object_id` and `mi_res_id` are refused: the broker's policy, not the app,
 * picks the Azure identity.
 */
export async function startAzureIdentityEndpoint(
  options: AzureIdentityEndpointOptions,
): Promise<AzureIdentityEndpoint> {
  const logger = options.logger ? redactingLogger(options.logger) : noopLogger;
  const secret = randomBytes(32).toString("hex");
  const secretBytes = Buffer.from(secret);
  let hosts: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hosts.includes(req.headers.host ?? "")) {
      return reply(res, 403, { error: "invalid_request", error_description: "Host must be this loopback endpoint" });
    }
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    if (url.pathname !== AZURE_IDENTITY_PATH)
      return reply(res, 404, { error: "not_found", error_description: "unknown path" });
    if (req.method !== "GET") return reply(res, 405, { error: "invalid_request", error_description: "use GET" });
    const presented = req.headers["x-identity-header"];
    const given = Buffer.from(typeof presented === "string" ? presented : "");
    if (given.length !== secretBytes.length || !timingSafeEqual(given, secretBytes)) {
      return reply(res, 401, { error: "unauthorized", error_description: "missing or wrong X-IDENTITY-HEADER" });
    }
    for (const key of url.searchParams.keys()) {
      if (!QUERY_KEYS.has(key)) {
        return reply(res, 400, {
          error: "invalid_request",
          error_description: `parameter ${key} is not supported: the broker's policy selects the identity`,
        });
      }
    }
    if (url.searchParams.get("api-version") !== AZURE_IDENTITY_API_VERSION) {
      return reply(res, 400, {
        error: "invalid_request",
        error_description: `api-version must be ${AZURE_IDENTITY_API_VERSION}`,
      });
    }
    const resource = url.searchParams.get("resource");
    if (!resource) return reply(res, 400, { error: "invalid_request", error_description: "resource is required" });
    try {
      const token = await options.credential.getToken(`${resource}/.default`);
      if (token === null) throw new Error("no token");
      logger.info("azure token served", { resource });
      return reply(res, 200, {
        access_token: token.token,
        expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
        resource,
        token_type: "Bearer",
      });
    } catch (error) {
      const code = error instanceof ConfspaceError ? error.code : "ERR_UNKNOWN";
      logger.warn("azure token request failed", { resource, code });
      const status = code === "ERR_BROKER_DENIED" ? 403 : code === "ERR_INVALID_SCOPE" ? 400 : 503;
      return reply(res, status, {
        error: "token_unavailable",
        error_description: `the broker gave no token (${code})`,
      });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, { error: "internal", error_description: "internal error" });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  const endpoint = `http://127.0.0.1:${port}${AZURE_IDENTITY_PATH}`;
  return {
    endpoint,
    header: secret,
    env: () => ({ IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: secret }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
