// The emulator's OIDC issuer on loopback HTTP: the discovery document, the JWKS and
// the PKI root certificate. It stands in for confidentialcomputing.googleapis.com
// but never claims its name: `issuer` is this server's own URL.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "@confspace/core";
import type { FaultQueue } from "./internal/fault-queue.js";
import { closeServer, listenTcp } from "./internal/listen.js";
import { abortableSleep } from "./internal/sleep.js";

export const DISCOVERY_PATH = "/.well-known/openid-configuration";
export const JWKS_PATH = "/jwks";
export const PKI_ROOT_PATH = "/pki/root.pem";

/** The claims the service documents, as listed in its discovery document. */
const CLAIMS_SUPPORTED = [
  "sub",
  "aud",
  "exp",
  "iat",
  "iss",
  "jti",
  "nbf",
  "dbgstat",
  "eat_nonce",
  "eat_profile",
  "google_service_accounts",
  "hwmodel",
  "oemid",
  "secboot",
  "submods",
  "swname",
  "swversion",
];

export interface IssuerServerOptions {
  host: string;
  port: number;
  /** The current JWKS document. */
  jwks: () => { keys: unknown[] };
  /** The PKI root certificate, PEM. */
  rootCertificatePem: () => string;
  /** Failures and delays injected into JWKS responses. */
  jwksFaults: FaultQueue;
  logger: Logger;
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** OIDC discovery + JWKS on `http://host:port`. */
export class IssuerServer {
  readonly #server: Server;
  readonly #options: IssuerServerOptions;
  #url = "";
  #jwksRequests = 0;
  readonly #aborts = new AbortController();

  private constructor(options: IssuerServerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async listen(options: IssuerServerOptions): Promise<IssuerServer> {
    const issuer = new IssuerServer(options);
    const port = await listenTcp(issuer.#server, options.host, options.port);
    issuer.#url = `http://${urlHost(options.host)}:${port}`;
    return issuer;
  }

  /** `http://host:port`, no trailing slash: the `iss` of every token. */
  get url(): string {
    return this.#url;
  }

  get jwksUri(): string {
    return `${this.#url}${JWKS_PATH}`;
  }

  /** Requests that reached the JWKS endpoint, failed ones included. */
  get jwksRequests(): number {
    return this.#jwksRequests;
  }

  close(): Promise<void> {
    this.#aborts.abort();
    return closeServer(this.#server);
  }

  discoveryDocument(): Record<string, unknown> {
    return {
      issuer: this.#url,
      jwks_uri: this.jwksUri,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid"],
      claims_supported: CLAIMS_SUPPORTED,
    };
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    res.once("finish", () => {
      this.#options.logger.debug("issuer emulator: request", { method: req.method, path, status: res.statusCode });
    });
    const route = {
      [DISCOVERY_PATH]: () => json(res, this.discoveryDocument()),
      [JWKS_PATH]: () => this.#jwks(res),
      [PKI_ROOT_PATH]: () => send(res, 200, "application/x-pem-file", this.#options.rootCertificatePem()),
    }[path];
    if (!route) {
      send(res, 404, "text/plain; charset=utf-8", "not found\n");
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    } else {
      route();
    }
  }

  #jwks(res: ServerResponse): void {
    this.#jwksRequests += 1;
    const delay = this.#options.jwksFaults.takeDelay();
    if (delay === undefined) {
      this.#answerJwks(res);
      return;
    }
    abortableSleep(delay, this.#aborts.signal).then((elapsed) => {
      if (elapsed) this.#answerJwks(res);
      else res.destroy();
    });
  }

  #answerJwks(res: ServerResponse): void {
    const failure = this.#options.jwksFaults.takeFailure();
    if (failure) send(res, failure.status, "text/plain; charset=utf-8", failure.body);
    else json(res, this.#options.jwks(), "public, max-age=300");
  }
}

function json(res: ServerResponse, body: unknown, cacheControl = "no-cache"): void {
  res.setHeader("cache-control", cacheControl);
  send(res, 200, "application/json", JSON.stringify(body));
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
