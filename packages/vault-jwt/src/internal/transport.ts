// HTTP(S) to Vault with node:http/https: one keep-alive agent carrying the CA and the
// client certificate, a deadline per request, a cap on the body read, and Vault's error
// statuses mapped to typed errors. Tokens travel only in the X-Vault-Token header and the
// login body; nothing here logs or puts them in a message.
import type { Agent } from "node:http";
import { REDACTED } from "@confspace/core";
import { VaultError, VaultResponseError, VaultUnavailableError } from "../errors.js";

/** TLS material for the agent, already read from files. */
export interface TransportTls {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
}

export interface TransportConfig {
  /** Vault's address, `http(s)://host:port[/prefix]`. */
  address: URL;
  namespace: string | undefined;
  tls: TransportTls;
  timeoutMs: number;
  maxResponseBytes: number;
}

/** One request to Vault. `path` is below `/v1/`, segments already encoded. */
export interface TransportRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  token?: string;
  signal?: AbortSignal;
  /** Statuses answered with the parsed body instead of an error (e.g. 404 for KV reads). */
  accept?: readonly number[];
}

export interface TransportResponse {
  status: number;
  /** Parsed JSON body; `undefined` for 204 or an empty body. */
  body: Record<string, unknown> | undefined;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

export class Transport {
  readonly #config: TransportConfig;
  readonly #agent: Agent;

  constructor(config: TransportConfig) {
    this.#config = config;
    // node:http/https when a client is made, not at import: most of this package's import cost.
    this.#agent =
      config.address.protocol === "https:"
        ? new (process.getBuiltinModule("node:https").Agent)({
            keepAlive: true,
            ca: config.tls.ca,
            cert: config.tls.cert,
            key: config.tls.key,
            passphrase: config.tls.passphrase,
            servername: config.tls.servername,
            minVersion: "TLSv1.2",
          })
        : new (process.getBuiltinModule("node:http").Agent)({ keepAlive: true });
  }

  /** Sends one request; throws {@link VaultError} subclasses for anything but 2xx and `accept`. */
  async send(request: TransportRequest): Promise<TransportResponse> {
    const { method, path } = request;
    const base = this.#config.address;
    const url = new URL(`${base.pathname.replace(/\/+$/, "")}/v1/${path}`, base);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: "application/json" };
    if (request.token !== undefined) headers["x-vault-token"] = request.token;
    if (this.#config.namespace !== undefined) headers["x-vault-namespace"] = this.#config.namespace;
    // Vault's API asks clients to send this so browsers cannot forge requests.
    headers["x-vault-request"] = "true";
    let payload: Buffer | undefined;
    if (request.body !== undefined) {
      payload = Buffer.from(JSON.stringify(request.body), "utf8");
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    const deadline = AbortSignal.timeout(this.#config.timeoutMs);
    const signal = request.signal === undefined ? deadline : AbortSignal.any([request.signal, deadline]);
    const where = { method, path };

    let raw: { status: number; text: string; retryAfter: string | undefined };
    try {
      raw = await this.#exchange(url, method, headers, payload, signal);
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw unavailable(error, where, deadline.aborted ? this.#config.timeoutMs : undefined);
    }
    let body: Record<string, unknown> | undefined;
    if (raw.text.trim() !== "") {
      try {
        const parsed = JSON.parse(raw.text) as unknown;
        body =
          typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
            ? (parsed as Record<string, unknown>)
            : undefined;
      } catch {
        body = undefined;
      }
      if (body === undefined && raw.status >= 200 && raw.status < 300) {
        throw new VaultResponseError(
          `Vault's answer to ${method} ${path} is not a JSON object; is ${base.origin} a Vault server?`,
          {
            status: raw.status,
            ...where,
          },
        );
      }
    }
    if ((raw.status >= 200 && raw.status < 300) || request.accept?.includes(raw.status)) {
      return { status: raw.status, body };
    }
    const errors = vaultErrors(body);
    if (RETRYABLE_STATUS.has(raw.status)) {
      const retryAfterMs = parseRetryAfter(raw.retryAfter);
      throw new VaultUnavailableError(
        `Vault answered ${raw.status} to ${method} ${path} (${raw.status === 503 ? "sealed, standby or in maintenance" : raw.status === 429 ? "rate limited" : "server error"}); retrying later with backoff.`,
        { status: raw.status, errors, ...where, retryAfterMs },
      );
    }
    throw new VaultError(
      `Vault answered ${raw.status} to ${method} ${path}: ${hint(raw.status)} Vault's reasons are in error.errors.`,
      {
        status: raw.status,
        errors,
        ...where,
      },
    );
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  #exchange(
    url: URL,
    method: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string; retryAfter: string | undefined }> {
    const client = process.getBuiltinModule(url.protocol === "https:" ? "node:https" : "node:http");
    const max = this.#config.maxResponseBytes;
    return new Promise((resolve, reject) => {
      const req = client.request(url, { method, headers, agent: this.#agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) {
            req.destroy(new Error(`response larger than ${max} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const retryAfter = res.headers["retry-after"];
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            retryAfter: typeof retryAfter === "string" ? retryAfter : undefined,
          });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }
}

// Token shapes only: core's redactString also masks `token: x` pairs, which would eat
// Vault's own wording ("error validating token: invalid issuer").
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
// OpenBao 2.7.2: service tokens s. + 24 characters, batch tokens b. + about 160.
const VAULT_TOKEN = /\b(?:hv[sbr]\.[A-Za-z0-9_-]{20,}|[sb]\.[A-Za-z0-9_-]{24,})/g;

/** Vault's `errors` array, with anything shaped like a JWT or a Vault token masked. */
function vaultErrors(body: Record<string, unknown> | undefined): string[] {
  const errors = body?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is string => typeof e === "string")
    .map((e) => e.replace(JWT, REDACTED).replace(VAULT_TOKEN, REDACTED).slice(0, 2_000));
}

function hint(status: number): string {
  switch (status) {
    case 400:
      return "Vault rejected the request as invalid.";
    case 403:
      return "the token lacks a policy for this path, or it was revoked or expired.";
    case 404:
      return "no such path, mount or secret.";
    case 405:
      return "this path does not support that method.";
    case 412:
      return "Vault's replicated state is not ready yet; try again.";
    default:
      return "the request failed.";
  }
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function unavailable(
  error: unknown,
  where: { method: string; path: string },
  timeoutMs: number | undefined,
): VaultUnavailableError {
  const code = (error as { code?: unknown }).code;
  const name = typeof code === "string" ? code : (error as Error).name;
  const tls = typeof code === "string" && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(code);
  const what =
    timeoutMs !== undefined
      ? `no answer within ${timeoutMs} ms`
      : tls
        ? `TLS failed (${name}); check the CA (tls.ca, CONFSPACE_VAULT_CACERT / VAULT_CACERT) and, for mTLS, the client certificate`
        : `could not reach Vault (${name})`;
  return new VaultUnavailableError(`${where.method} ${where.path}: ${what}.`, { status: 0, ...where, cause: error });
}
