import type { KeyObject } from "node:crypto";
import type { Agent, RequestOptions } from "node:https";
import { InvalidOptionError } from "@confspace/core";
import { readTransitReply } from "./internal/transit-reply.js";
import { KeyServiceError, type KeyServiceErrorCode } from "./key-service-error.js";

/** Options of {@link createKeyServiceClient}. */
export interface KeyServiceClientOptions {
  /** The key service's `https:` origin, e.g. `https://broker.example:8200` (OpenBao: its `VAULT_ADDR`). Required. */
  url: string | URL;
  /** The client certificate (PEM), e.g. a `WorkloadCertificate`'s `certificatePem`. Required. */
  certificate: string;
  /** Its private key (PEM or `KeyObject`). Required. */
  privateKey: string | KeyObject;
  /** CA certificate(s) (PEM) for the service's server certificate. Default: Node's root CAs. */
  ca?: string | readonly string[];
  /** The transit mount, e.g. `transit` or `team/transit`. Default `"transit"`. */
  mountPath?: string;
  /**
   * Sent as `X-Vault-Token`: for OpenBao's or Vault's own transit engine. The broker's key
   * service authenticates by the client certificate alone and needs none. Default: none.
   */
  token?: string;
  /** Time for each call (connect, TLS, reply), in milliseconds. Default 10 000. */
  timeoutMs?: number;
}

/** Options of one call. */
export interface KeyServiceCallOptions {
  /** Abandons the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@link KeyServiceClient.dataKey}. */
export interface DataKeyOptions extends KeyServiceCallOptions {
  /** Size of the data key in bits. Default 256. */
  bits?: 128 | 256 | 512;
}

/** A ciphertext of the transit format, `vault:v<N>:<base64>`, and the key version that made it. */
export interface TransitCiphertext {
  ciphertext: string;
  keyVersion: number;
}

/** A new data key: `plaintext` (only for type `"plaintext"`) and the same key wrapped by the named key. */
export interface DataKey extends TransitCiphertext {
  plaintext?: Buffer;
}

/** A client of the transit subset the broker's key service offers (`encrypt`, `decrypt`, `datakey`). */
export interface KeyServiceClient extends Disposable {
  /** Encrypts `plaintext` with the latest version of key `keyName`. */
  encrypt(keyName: string, plaintext: Uint8Array, options?: KeyServiceCallOptions): Promise<TransitCiphertext>;
  /** Decrypts a `vault:v<N>:` ciphertext made with key `keyName`. */
  decrypt(keyName: string, ciphertext: string, options?: KeyServiceCallOptions): Promise<Buffer>;
  /** A fresh random data key, returned in plaintext and wrapped (`"plaintext"`) or wrapped only (`"wrapped"`). */
  dataKey(keyName: string, type: "plaintext", options?: DataKeyOptions): Promise<DataKey & { plaintext: Buffer }>;
  dataKey(keyName: string, type: "wrapped", options?: DataKeyOptions): Promise<DataKey>;
  /** Use a renewed certificate from now on (new connections; open ones finish their calls). */
  updateCertificate(certificate: string, privateKey: string | KeyObject): void;
  /** Closes the connections. Calls after it are refused. */
  close(): void;
}

const OPTIONS = new Set(["url", "certificate", "privateKey", "ca", "mountPath", "token", "timeoutMs"]);
const KEY_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MOUNT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const CIPHERTEXT = /^vault:v[1-9][0-9]{0,9}:[A-Za-z0-9+/]+={0,2}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_REPLY_BYTES = 4 * 1024 * 1024;
const TLS_CODES = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/**
 * A client of the token broker's attested key service, which speaks the OpenBao transit
 * API over mutual TLS 1.3: the client certificate (from `requestWorkloadCertificate`)
 * names the grant, and the service lets it use only that grant's keys. It works against
 * OpenBao's or Vault's own transit engine too (pass `token`).
 *
 * Failures are `KeyServiceError`s; options are checked up front (`InvalidOptionError`).
 * Plaintexts and data keys are never logged or put in a message.
 *
 * @example
 * ```ts
 * const keys = createKeyServiceClient({ url: "https://broker.example:8200", certificate, privateKey, ca });
 * const { ciphertext } = await keys.encrypt("app-state", Buffer.from("hello"));
 * const plaintext = await keys.decrypt("app-state", ciphertext);
 * ```
 */
export function createKeyServiceClient(options: KeyServiceClientOptions): KeyServiceClient {
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new InvalidOptionError(key, `createKeyServiceClient: unknown option ${key}`);
  }
  const origin = httpsOrigin(options.url);
  const mountPath = (options.mountPath ?? "transit").replace(/^\/+|\/+$/g, "");
  if (!MOUNT_PATH.test(mountPath) || mountPath.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new InvalidOptionError("mountPath", "mountPath must be a mount such as transit or team/transit");
  }
  if (typeof options.certificate !== "string" || !options.certificate.includes("-----BEGIN CERTIFICATE-----")) {
    throw new InvalidOptionError("certificate", "certificate must be a PEM client certificate");
  }
  if (options.privateKey === undefined || options.privateKey === null) {
    throw new InvalidOptionError("privateKey", "privateKey is required (PEM or KeyObject)");
  }
  if (options.token !== undefined && (typeof options.token !== "string" || !/^[\x21-\x7e]+$/.test(options.token))) {
    throw new InvalidOptionError("token", "token must be a non-empty string of visible ASCII characters");
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidOptionError("timeoutMs", "timeoutMs must be a positive number of milliseconds");
  }
  const ca = options.ca === undefined ? undefined : typeof options.ca === "string" ? [options.ca] : [...options.ca];
  const pem = (key: string | KeyObject): string =>
    typeof key === "string" ? key : (key.export({ type: "pkcs8", format: "pem" }) as string);
  let credentials = { cert: options.certificate, key: pem(options.privateKey) };
  let agent: Promise<Agent> | undefined;
  let closed = false;
  const retired: Agent[] = [];

  const getAgent = (): Promise<Agent> => {
    agent ??= import("node:https").then(
      ({ Agent }) =>
        new Agent({
          keepAlive: true,
          minVersion: "TLSv1.3",
          maxVersion: "TLSv1.3",
          ...(ca !== undefined && { ca }),
          ...credentials,
        }),
    );
    return agent;
  };

  async function call(operation: string, keyName: string, body: object, signal?: AbortSignal) {
    if (closed) {
      throw new KeyServiceError(
        "ERR_KEY_SERVICE_UNAVAILABLE",
        origin,
        operation,
        keyName,
        "This key service client was closed; create a new one",
      );
    }
    if (typeof keyName !== "string" || !KEY_NAME.test(keyName)) {
      throw new InvalidOptionError("keyName", "keyName must be 1-128 of A-Z a-z 0-9 _ . -");
    }
    const path = `/v1/${mountPath}/${operation}/${keyName}`;
    const [{ request }, usedAgent] = await Promise.all([import("node:https"), getAgent()]);
    const payload = JSON.stringify(body);
    const fail = (
      code: KeyServiceErrorCode,
      text: string,
      extra: { status?: number; description?: string; cause?: unknown } = {},
    ) => new KeyServiceError(code, origin, operation, keyName, `The key service at ${origin} ${text}`, extra);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const url = new URL(path, origin);
      const requestOptions: RequestOptions = {
        method: "POST",
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port,
        path,
        agent: usedAgent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          ...(options.token !== undefined && { "x-vault-token": options.token }),
        },
        timeout: timeoutMs,
        signal,
      };
      const req = request(requestOptions, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            req.destroy();
            reject(fail("ERR_KEY_SERVICE_PROTOCOL", `answered ${operation} with more than ${MAX_REPLY_BYTES} bytes`));
          } else chunks.push(chunk);
        });
        res.on("error", (error) =>
          reject(fail("ERR_KEY_SERVICE_UNAVAILABLE", "closed the connection mid-reply", { cause: error })),
        );
        res.on("end", () => {
          try {
            resolve(readTransitReply(res.statusCode ?? 0, Buffer.concat(chunks), { operation, keyName, origin, fail }));
          } catch (error) {
            reject(error);
          }
        });
      });
      req.on("timeout", () =>
        req.destroy(fail("ERR_KEY_SERVICE_UNAVAILABLE", `did not answer ${operation} within ${timeoutMs} ms`)),
      );
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (signal?.aborted && (error.name === "AbortError" || error === signal.reason)) return reject(signal.reason);
        if (error instanceof KeyServiceError) return reject(error);
        const code = typeof error.code === "string" ? error.code : "";
        if (TLS_CODES.test(code)) {
          reject(
            fail(
              "ERR_KEY_SERVICE_TLS",
              `refused the TLS connection (${code}); check ca, and that the client certificate is from the CA the service trusts and not expired`,
              { cause: error },
            ),
          );
        } else {
          reject(
            fail(
              "ERR_KEY_SERVICE_UNAVAILABLE",
              `cannot be reached (${code || "connection failed"}); check url and that it is running`,
              { cause: error },
            ),
          );
        }
      });
      req.end(payload);
    });
  }

  const readCiphertext = (data: Record<string, unknown>, operation: string, keyName: string): TransitCiphertext => {
    const ciphertext = data.ciphertext;
    if (typeof ciphertext !== "string" || !CIPHERTEXT.test(ciphertext)) {
      throw new KeyServiceError(
        "ERR_KEY_SERVICE_PROTOCOL",
        origin,
        operation,
        keyName,
        `The key service at ${origin} answered ${operation} without a vault:v<N>: ciphertext`,
      );
    }
    const keyVersion =
      typeof data.key_version === "number" ? data.key_version : Number(ciphertext.split(":")[1]?.slice(1));
    return { ciphertext, keyVersion };
  };
  const readBase64 = (value: unknown, operation: string, keyName: string): Buffer => {
    if (typeof value !== "string" || !BASE64.test(value)) {
      throw new KeyServiceError(
        "ERR_KEY_SERVICE_PROTOCOL",
        origin,
        operation,
        keyName,
        `The key service at ${origin} answered ${operation} without a base64 plaintext`,
      );
    }
    return Buffer.from(value, "base64");
  };

  const client: KeyServiceClient = {
    async encrypt(keyName, plaintext, callOptions) {
      if (!(plaintext instanceof Uint8Array))
        throw new InvalidOptionError("plaintext", "plaintext must be bytes (a Uint8Array)");
      const data = await call(
        "encrypt",
        keyName,
        { plaintext: Buffer.from(plaintext).toString("base64") },
        callOptions?.signal,
      );
      return readCiphertext(data, "encrypt", keyName);
    },
    async decrypt(keyName, ciphertext, callOptions) {
      if (typeof ciphertext !== "string" || !CIPHERTEXT.test(ciphertext)) {
        throw new InvalidOptionError("ciphertext", "ciphertext must be a transit ciphertext, vault:v<N>:<base64>");
      }
      const data = await call("decrypt", keyName, { ciphertext }, callOptions?.signal);
      return readBase64(data.plaintext, "decrypt", keyName);
    },
    async dataKey(keyName: string, type: "plaintext" | "wrapped", callOptions?: DataKeyOptions) {
      if (type !== "plaintext" && type !== "wrapped")
        throw new InvalidOptionError("type", 'type must be "plaintext" or "wrapped"');
      const bits = callOptions?.bits ?? 256;
      if (bits !== 128 && bits !== 256 && bits !== 512)
        throw new InvalidOptionError("bits", "bits must be 128, 256 or 512");
      const operation = `datakey/${type}`;
      const data = await call(operation, keyName, { bits }, callOptions?.signal);
      const wrapped = readCiphertext(data, operation, keyName);
      if (type === "wrapped") return wrapped;
      const plaintext = readBase64(data.plaintext, operation, keyName);
      if (plaintext.length * 8 !== bits) {
        plaintext.fill(0);
        throw new KeyServiceError(
          "ERR_KEY_SERVICE_PROTOCOL",
          origin,
          operation,
          keyName,
          `The key service at ${origin} answered ${operation} with a data key of the wrong size`,
        );
      }
      return { ...wrapped, plaintext };
    },
    updateCertificate(certificate, privateKey) {
      credentials = { cert: certificate, key: pem(privateKey) };
      const previous = agent;
      agent = undefined;
      void previous?.then((old) => {
        retired.push(old);
        // Calls in flight on the old connections get timeoutMs to finish; then they are closed.
        setTimeout(() => old.destroy(), timeoutMs).unref();
      });
    },
    close() {
      closed = true;
      void agent?.then((a) => a.destroy());
      for (const old of retired) old.destroy();
    },
    [Symbol.dispose]() {
      client.close();
    },
  } as KeyServiceClient;
  return client;
}

function httpsOrigin(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionError("url", "url must be an https: origin such as https://broker.example:8200");
  }
  if (parsed.protocol !== "https:" || (parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search !== "") {
    throw new InvalidOptionError(
      "url",
      "url must be an https: origin such as https://broker.example:8200, without a path",
    );
  }
  return parsed.origin;
}
