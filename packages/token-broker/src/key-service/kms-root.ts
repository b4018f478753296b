// A root secret envelope-encrypted with Cloud KMS: one REST `decrypt` call when the key
// service starts, with an access token from `accessTokenEnv` or Application Default
// Credentials (google-auth-library, imported only here and only then).
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { ConfspaceError, crc32c } from "@confspace/core";
import { BrokerConfigError } from "../errors.js";
import { readCaFile } from "../internal/ca-file.js";
import type { KmsWrappedRootConfig } from "./config.js";

const DEFAULT_ENDPOINT = "https://cloudkms.googleapis.com";
const KMS_SCOPE = "https://www.googleapis.com/auth/cloudkms";
const MAX_REPLY_BYTES = 256 * 1024;

/** What a KMS-wrapped root needs besides its configuration. */
export interface KmsRootContext {
  /** Path of the root in the configuration, for error messages (`keyService.roots[2].kmsWrapped`). */
  path: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Time allowed for the KMS call, ms. */
  timeoutMs: number;
  /** The ciphertext, read from `ciphertext` or `ciphertextFile` by the caller. */
  ciphertext: Buffer;
}

/**
 * Decrypts a KMS-wrapped root. The plaintext is the raw root; its CRC32C is checked
 * against KMS's `plaintextCrc32c` (end-to-end integrity, as Google recommends).
 *
 * @throws {BrokerConfigError} `accessTokenEnv` unset, `caFile` unreadable, google-auth-library missing.
 * @throws {ConfspaceError} `ERR_KEY_SERVICE_KMS`: KMS refused or could not be reached (status only, never its body).
 */
export async function decryptKmsRoot(config: KmsWrappedRootConfig, context: KmsRootContext): Promise<Buffer> {
  const ca = config.caFile === undefined ? undefined : readCaFile(config.caFile, `${context.path}.caFile`);
  const token = await accessToken(config, context);
  const endpoint = new URL(config.endpoint ?? DEFAULT_ENDPOINT);
  const url = new URL(`/v1/${config.key}:decrypt`, endpoint);
  const body = JSON.stringify({
    name: config.key,
    ciphertext: context.ciphertext.toString("base64"),
    ciphertextCrc32c: String(crc32c(context.ciphertext)),
  });
  let reply: { status: number; body: Buffer };
  try {
    reply = await post(url, body, token, ca, context.timeoutMs);
  } catch (error) {
    throw new ConfspaceError(
      "ERR_KEY_SERVICE_KMS",
      `${context.path}: Cloud KMS at ${endpoint.origin} could not be reached (${(error as { code?: string }).code ?? "no answer"})`,
      { cause: error },
    );
  }
  if (reply.status !== 200) {
    const status = googleStatus(reply.body);
    throw new ConfspaceError(
      "ERR_KEY_SERVICE_KMS",
      `${context.path}: Cloud KMS refused to decrypt the root with ${config.key} (HTTP ${reply.status}${status === undefined ? "" : ` ${status}`}); check the key name and that the broker's identity has roles/cloudkms.cryptoKeyDecrypter on it`,
    );
  }
  let parsed: { plaintext?: unknown; plaintextCrc32c?: unknown };
  try {
    parsed = JSON.parse(reply.body.toString("utf8"));
  } catch {
    parsed = {};
  }
  reply.body.fill(0);
  if (typeof parsed.plaintext !== "string") {
    throw new ConfspaceError("ERR_KEY_SERVICE_KMS", `${context.path}: Cloud KMS answered without a plaintext`);
  }
  const plaintext = Buffer.from(parsed.plaintext, "base64");
  parsed.plaintext = undefined;
  if (parsed.plaintextCrc32c === undefined || Number(parsed.plaintextCrc32c) !== crc32c(plaintext)) {
    plaintext.fill(0);
    throw new ConfspaceError(
      "ERR_KEY_SERVICE_KMS",
      `${context.path}: the plaintext's CRC32C does not match Cloud KMS's plaintextCrc32c (corrupted in transit); start again`,
    );
  }
  return plaintext;
}

async function accessToken(config: KmsWrappedRootConfig, context: KmsRootContext): Promise<string> {
  if (config.accessTokenEnv !== undefined) {
    const token = context.env[config.accessTokenEnv];
    if (token === undefined || token === "") {
      throw new BrokerConfigError(`the environment variable ${config.accessTokenEnv} is not set`, {
        field: `${context.path}.accessTokenEnv`,
      });
    }
    return token;
  }
  let GoogleAuth: typeof import("google-auth-library").GoogleAuth;
  try {
    ({ GoogleAuth } = await import("google-auth-library"));
  } catch (error) {
    throw new BrokerConfigError(
      "needs google-auth-library for Application Default Credentials (npm install google-auth-library), or set accessTokenEnv",
      { field: context.path, cause: error },
    );
  }
  let token: string | null | undefined;
  try {
    // The key's project as ADC's project: no lookup of one (a Resource Manager call) first.
    const projectId = config.key.split("/")[1];
    const client = await new GoogleAuth({
      scopes: [KMS_SCOPE],
      ...(projectId === undefined ? {} : { projectId }),
    }).getClient();
    token = (await client.getAccessToken()).token;
  } catch (error) {
    throw new ConfspaceError(
      "ERR_KEY_SERVICE_KMS",
      `${context.path}: no access token for Cloud KMS from Application Default Credentials; configure ADC (or accessTokenEnv)`,
      { cause: error },
    );
  }
  if (typeof token !== "string" || token === "") {
    throw new ConfspaceError(
      "ERR_KEY_SERVICE_KMS",
      `${context.path}: Application Default Credentials gave no access token`,
    );
  }
  return token;
}

function post(
  url: URL,
  body: string,
  token: string,
  ca: string[] | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const options = {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      },
      timeout: timeoutMs,
      ...(ca === undefined ? {} : { ca }),
    };
    const req = (url.protocol === "http:" ? httpRequest : httpsRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES)
          req.destroy(Object.assign(new Error("reply too large"), { code: "ERR_REPLY_TOO_LARGE" }));
        else chunks.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(body);
  });
}

/** Google's canonical status (`PERMISSION_DENIED`, …) of an error reply, if it has one; never its message. */
function googleStatus(body: Buffer): string | undefined {
  try {
    const status = (JSON.parse(body.toString("utf8")) as { error?: { status?: unknown } }).error?.status;
    return typeof status === "string" && /^[A-Z_]{1,64}$/.test(status) ? status : undefined;
  } catch {
    return undefined;
  }
}
