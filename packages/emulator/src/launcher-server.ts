// The launcher's TEE server (go-tpm-tools launcher/teeserver) on a Unix socket:
// `GET /v1/token` attests afresh for the default audience, `POST /v1/token` mints a
// custom token, errors are plain text. Checks the attestation service makes
// (audience, nonces, token type, quota) are answered the way the launcher relays
// them: `failed to retrieve … token: rpc error: code = … desc = …`, 400 for
// client errors and 500 for the rest.
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

/** Service limits on custom tokens (FACTS.md: the safe side of Google's two documented ranges). */
export const LAUNCHER_LIMITS = Object.freeze({
  maxAudienceBytes: 512,
  maxNonces: 6,
  minNonceBytes: 10,
  maxNonceBytes: 74,
  quotaPerSecond: 5,
});

const TOKEN_TYPES: readonly string[] = ["OIDC", "PKI", "AWS_PRINCIPALTAGS", "LIMITED_AWS"];
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
  now: () => number;
  logger: Logger;
}

class Reply {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {}
}

/** Validation the attestation service does; returns the rpc error text, if any. */
function serviceRejection(request: LauncherMintRequest): string | undefined {
  const invalid = (desc: string) => `rpc error: code = InvalidArgument desc = ${desc}`;
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
  if (!TOKEN_TYPES.includes(request.tokenType)) {
    return invalid(`unsupported token type ${JSON.stringify(request.tokenType)}`);
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
  readonly #aborts = new AbortController();

  private constructor(options: LauncherServerOptions) {
    this.socketPath = options.socketPath;
    this.#options = options;
    this.#quota = new RateWindow(LAUNCHER_LIMITS.quotaPerSecond, 1000, options.now);
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
      { audience, nonces, tokenType: tokenType as TokenType, awsPrincipalTagKeyIds: keyIds },
      true,
    );
  }

  /** The call to the attestation service: quota, validation, then the token. */
  async #attest(prefix: string, request: LauncherMintRequest, custom = false): Promise<Reply> {
    if (this.#options.quota && !this.#quota.tryAcquire()) {
      return new Reply(
        500,
        `${prefix}: rpc error: code = ResourceExhausted desc = Quota exceeded: at most ${LAUNCHER_LIMITS.quotaPerSecond} requests per second`,
      );
    }
    const rejection = custom ? serviceRejection(request) : undefined;
    if (rejection !== undefined) return new Reply(400, `${prefix}: ${rejection}`);
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
