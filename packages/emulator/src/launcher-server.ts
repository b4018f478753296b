// The launcher's TEE server (go-tpm-tools launcher/teeserver) on a Unix socket:
// `GET /v1/token` attests afresh for the default audience, `POST /v1/token` mints a
// custom token, errors are plain text. The launcher talks to the attestation service
// through the REST client of cloud.google.com/go/confidentialcomputing (verifier/rest),
// so a rejection by the service reaches the socket as
// `failed to retrieve … token: calling v1.VerifyConfidentialSpace in REGION: googleapi: Error N: …`,
// 400 when the HTTP status maps to a client gRPC code (every 4xx but 429) and 500
// for the rest (the 429 quota error included).
import { chmod, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "@confspace/core";
import { DEFAULT_TOKEN_AUDIENCE } from "./claims.js";
import type { FaultQueue } from "./internal/fault-queue.js";
import { closeServer, listenUnix } from "./internal/listen.js";
import { RateWindow } from "./internal/rate-window.js";
import { abortableSleep } from "./internal/sleep.js";
import { decodeTokenOptions } from "./internal/token-options.js";
import type { TokenType } from "./profile.js";

/** Service limits on custom tokens: the safe side of the two nonce ranges Google documents (10–74 and 8–88 bytes). */
export const LAUNCHER_LIMITS = Object.freeze({
  maxAudienceBytes: 512,
  maxNonces: 6,
  minNonceBytes: 10,
  maxNonceBytes: 74,
  quotaPerSecond: 5,
});

const TOKEN_TYPES: readonly string[] = ["OIDC", "PKI", "AWS_PRINCIPALTAGS", "LIMITED_AWS"];
/**
 * The launcher maps `token_type` onto the service's enum and sends anything else as
 * `TOKEN_TYPE_UNSPECIFIED` (verifier/rest convertTokenOptionsToREST), which the
 * service answers with an OIDC token: until 2024-03 every default token was requested
 * that way.
 */
const UNSPECIFIED_TOKEN_TYPE_REPLY: TokenType = "OIDC";
const MAX_BODY_BYTES = 1024 * 1024;

/** What the launcher asks the (emulated) attestation service for. */
export interface LauncherMintRequest {
  audience: string;
  nonces: string[];
  tokenType: TokenType;
  awsPrincipalTagKeyIds: string[];
}

export interface LauncherServerOptions {
  socketPath: string;
  mint: (request: LauncherMintRequest) => Promise<string>;
  faults: FaultQueue;
  quota: boolean;
  /** The VM's zone; the launcher calls the service in its region (the zone without its last `-` part). */
  zone: string;
  now: () => number;
  logger: Logger;
}

class Reply {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {}
}

/** A service rejection as the launcher's REST client words it: `googleapi: Error N: message`. */
class ServiceError {
  constructor(
    /** The service's HTTP status. */
    readonly httpStatus: number,
    readonly message: string,
  ) {}

  /**
   * gax-go maps the HTTP status to a gRPC code (429 → ResourceExhausted, other 4xx →
   * InvalidArgument, PermissionDenied, NotFound, … or FailedPrecondition, all client
   * codes; 5xx → Internal, Unavailable, …) and the launcher answers 400 for client
   * codes, 500 for the rest.
   */
  get launcherStatus(): number {
    return this.httpStatus >= 400 && this.httpStatus < 500 && this.httpStatus !== 429 ? 400 : 500;
  }
}

/** Validation the attestation service does; returns the rejection, if any. */
function serviceRejection(request: LauncherMintRequest): ServiceError | undefined {
  const invalid = (message: string) => new ServiceError(400, message);
  if (Buffer.byteLength(request.audience) > LAUNCHER_LIMITS.maxAudienceBytes) {
    return invalid(`audience must be at most ${LAUNCHER_LIMITS.maxAudienceBytes} bytes`);
  }
  if (request.audience === DEFAULT_TOKEN_AUDIENCE) {
    return invalid(`audience ${DEFAULT_TOKEN_AUDIENCE} is reserved for the default token`);
  }
  if (request.nonces.length > LAUNCHER_LIMITS.maxNonces) {
    return invalid(`at most ${LAUNCHER_LIMITS.maxNonces} nonces are allowed, got ${request.nonces.length}`);
  }
  for (const [index, nonce] of request.nonces.entries()) {
    const bytes = Buffer.byteLength(nonce);
    if (bytes < LAUNCHER_LIMITS.minNonceBytes || bytes > LAUNCHER_LIMITS.maxNonceBytes) {
      return invalid(
        `nonce ${index} is ${bytes} bytes; nonces must be ${LAUNCHER_LIMITS.minNonceBytes} to ${LAUNCHER_LIMITS.maxNonceBytes} bytes`,
      );
    }
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The emulated launcher socket. */
export class LauncherServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #options: LauncherServerOptions;
  readonly #quota: RateWindow;
  readonly #region: string;
  readonly #aborts = new AbortController();

  private constructor(options: LauncherServerOptions) {
    this.socketPath = options.socketPath;
    this.#options = options;
    this.#quota = new RateWindow(LAUNCHER_LIMITS.quotaPerSecond, 1000, options.now);
    // go-tpm-tools verifier/util GetRegion: "us-central1-a" -> "us-central1".
    const dash = options.zone.lastIndexOf("-");
    this.#region = dash === -1 ? options.zone : options.zone.slice(0, dash);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        options.logger.error("launcher emulator: request failed", { error });
        if (!res.headersSent) this.#send(res, new Reply(500, "internal emulator error"));
        else res.destroy();
      });
    });
  }

  static async listen(options: LauncherServerOptions): Promise<LauncherServer> {
    const launcher = new LauncherServer(options);
    await listenUnix(launcher.#server, options.socketPath);
    await chmod(options.socketPath, 0o777); // as the real socket: any container user may connect
    return launcher;
  }

  async close(): Promise<void> {
    this.#aborts.abort();
    await closeServer(this.#server);
    await rm(this.socketPath, { force: true });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/v1/token") {
      // Go's http.NotFound: http.Error writes the text with a newline.
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
      res.end("404 page not found\n");
      this.#log(req.method, path, 404);
      return;
    }
    const body = await readBody(req);
    const delay = this.#options.faults.takeDelay();
    if (delay !== undefined && !(await abortableSleep(delay, this.#aborts.signal))) {
      res.destroy();
      return;
    }
    const injected = this.#options.faults.takeFailure();
    const reply = injected ? new Reply(injected.status, injected.body) : await this.#token(req.method ?? "", body);
    this.#send(res, reply);
    this.#log(req.method, path, reply.status);
  }

  async #token(method: string, body: string | undefined): Promise<Reply> {
    if (method === "GET") {
      return this.#attest("failed to retrieve attestation service token", {
        audience: DEFAULT_TOKEN_AUDIENCE,
        nonces: [],
        tokenType: "OIDC",
        awsPrincipalTagKeyIds: [],
      });
    }
    if (method !== "POST") return new Reply(400, `TEE server received an invalid HTTP method: ${method}`);
    const decoded =
      body === undefined ? { ok: false as const, error: "http: request body too large" } : decodeTokenOptions(body);
    if (!decoded.ok) return new Reply(400, `failed to parse POST body as TokenOptions: ${decoded.error}`);
    const { audience, nonces, tokenType, keyIds } = decoded.request;
    if (audience === "") return new Reply(400, "use GET request for the default identity token");
    if (tokenType === "") return new Reply(400, "token_type is a required parameter");
    return this.#attest(
      "failed to retrieve custom attestation service token",
      {
        audience,
        nonces,
        tokenType: TOKEN_TYPES.includes(tokenType) ? (tokenType as TokenType) : UNSPECIFIED_TOKEN_TYPE_REPLY,
        // Forwarded only with AWS_PRINCIPALTAGS; with any other type the key IDs vanish.
        awsPrincipalTagKeyIds: tokenType === "AWS_PRINCIPALTAGS" ? keyIds : [],
      },
      true,
    );
  }

  /** The call to the attestation service: quota, validation, then the token. */
  async #attest(prefix: string, request: LauncherMintRequest, custom = false): Promise<Reply> {
    const failed = (error: ServiceError) =>
      new Reply(
        error.launcherStatus,
        `${prefix}: calling v1.VerifyConfidentialSpace in ${this.#region}: googleapi: Error ${error.httpStatus}: ${error.message}`,
      );
    if (this.#options.quota && !this.#quota.tryAcquire()) {
      return failed(
        new ServiceError(429, `Quota exceeded: at most ${LAUNCHER_LIMITS.quotaPerSecond} requests per second`),
      );
    }
    const rejection = custom ? serviceRejection(request) : undefined;
    if (rejection !== undefined) return failed(rejection);
    return new Reply(200, await this.#options.mint(request));
  }

  #send(res: ServerResponse, reply: Reply): void {
    // The launcher sets text/html on every /v1/token reply and writes no newline.
    res.writeHead(reply.status, {
      "content-type": "text/html",
      "content-length": Buffer.byteLength(reply.body),
    });
    res.end(reply.body);
  }

  #log(method: string | undefined, path: string, status: number): void {
    this.#options.logger.debug("launcher emulator: request", { method, path, status });
  }
}
