// The transit-compatible HTTP API: OpenBao/Vault's `encrypt`, `decrypt` and `datakey`
// under one mount, plus the token calls of Vault clients (token-self.ts). The
// caller is its client certificate's grant; a grant may use only the keys it lists.
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Clock, LogFields, Logger } from "@confspace/core";
import { sendJson } from "../internal/http.js";
import { KEY_NAME } from "./config.js";
import type { Keyring } from "./keyring.js";
import type { KeyOperation, KeyRequestOutcome, KeyServiceMetrics } from "./metrics.js";
import { type PeerIdentity, peerIdentity } from "./peer-identity.js";
import { answerTokenSelf } from "./token-self.js";
import { allowOnly, type Body, readJson, TransitError, toTransitError, vaultReply } from "./vault-reply.js";

/** Everything one request needs; built once by the key service. */
export interface TransitContext {
  keyring: Keyring;
  /** e.g. `transit`: routes are `/v1/transit/encrypt/{key}`. */
  mountPath: string;
  /** The keys the CURRENT configuration gives `grant` (`grants[].certificate.keys`); `undefined`: no such grant. */
  grantKeys(grant: string): readonly string[] | undefined;
  metrics: KeyServiceMetrics;
  logger: Logger;
  /** Whether a logger was given (skip work only logs need otherwise). */
  logging: boolean;
  clock: Clock;
  maxBodyBytes: number;
  /** Whether the service is shutting down: replies then close their connection. */
  shuttingDown(): boolean;
}

interface Route {
  operation: KeyOperation;
  /** The key named in the path (key operations only). */
  key?: string;
  methods: readonly string[];
}

const WRITE = ["POST", "PUT"] as const;
const BITS = new Set([128, 256, 512]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Finds the route of a path, or `undefined` (404). */
export function route(mountPath: string, path: string): Route | undefined {
  if (path === "/v1/auth/token/lookup-self") return { operation: "token_lookup_self", methods: ["GET", "POST"] };
  if (path === "/v1/auth/token/renew-self") return { operation: "token_renew_self", methods: WRITE };
  const prefix = `/v1/${mountPath}/`;
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length).split("/");
  if (rest.length === 2 && (rest[0] === "encrypt" || rest[0] === "decrypt")) {
    return { operation: rest[0], key: rest[1]!, methods: WRITE };
  }
  if (rest.length === 3 && rest[0] === "datakey" && (rest[1] === "plaintext" || rest[1] === "wrapped")) {
    return {
      operation: rest[1] === "plaintext" ? "datakey_plaintext" : "datakey_wrapped",
      key: rest[2]!,
      methods: WRITE,
    };
  }
  return undefined;
}

/** Answers one request and logs it exactly once (never a plaintext, ciphertext body or key). */
export async function handleTransitRequest(
  ctx: TransitContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const fields: LogFields = { requestId: randomUUID() };
  if (ctx.logging) fields.remoteAddress = req.socket.remoteAddress;
  let operation: KeyOperation = "other";
  let outcome: KeyRequestOutcome = "ok";
  let status = 200;
  try {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const found = route(ctx.mountPath, path);
    if (found === undefined) throw new TransitError(404, "not_found", "unsupported path");
    operation = found.operation;
    fields.operation = operation;
    if (!found.methods.includes(req.method ?? "")) {
      throw new TransitError(405, "method_not_allowed", `use ${found.methods.join(" or ")}`, {
        allow: found.methods.join(", "),
      });
    }
    const identity = peerIdentity(req.socket as TLSSocket);
    if ("problem" in identity)
      throw new TransitError(403, "permission_denied", `permission denied: ${identity.problem}`);
    fields.grant = identity.grant;
    if (identity.workload !== undefined) fields.workload = identity.workload;
    fields.certificateSerial = identity.serial;
    // The handshake checked the dates; a keep-alive connection can outlive the certificate.
    if (identity.expiresAt <= ctx.clock.now()) {
      throw new TransitError(403, "permission_denied", "permission denied: the client certificate has expired");
    }
    const keys = ctx.grantKeys(identity.grant);
    if (keys === undefined) {
      throw new TransitError(
        403,
        "permission_denied",
        `permission denied: grant "${identity.grant}" is not in this broker's configuration`,
      );
    }
    if (found.key !== undefined) {
      // Checked before it reaches a log line or a message: a path segment is the caller's text.
      if (!KEY_NAME.pattern!.test(found.key)) throw new TransitError(400, "invalid_request", "invalid key name");
      fields.keyName = found.key;
      if (!keys.includes(found.key)) {
        throw new TransitError(
          403,
          "permission_denied",
          `permission denied: grant "${identity.grant}" does not list key "${found.key}"`,
        );
      }
    }
    const body = await readJson(req, ctx.maxBodyBytes);
    const data = answer(ctx, found, identity, body, fields, req);
    if (ctx.shuttingDown()) res.setHeader("connection", "close");
    sendJson(res, 200, data);
  } catch (error) {
    if (res.destroyed && !res.headersSent) {
      outcome = "client_closed";
      status = 499;
      return;
    }
    const reply = toTransitError(error);
    outcome = reply.outcome;
    status = reply.status;
    if (outcome === "server_error") fields.error = error;
    const headers: Record<string, string> = { ...reply.headers };
    if (ctx.shuttingDown() || reply.status === 413) headers.connection = "close";
    if (!res.headersSent && !res.destroyed) sendJson(res, reply.status, { errors: [reply.message] }, headers);
  } finally {
    const seconds = (performance.now() - started) / 1000;
    ctx.metrics.requests.inc({ operation, outcome });
    ctx.metrics.requestDuration.observe(seconds, { operation });
    const line = { ...fields, outcome, status, durationMs: Math.round(seconds * 10_000) / 10 };
    if (status >= 500) ctx.logger.error("key service request", line);
    else if (status === 403) ctx.logger.warn("key service request", line);
    else ctx.logger.info("key service request", line);
  }
}

function answer(
  ctx: TransitContext,
  found: Route,
  identity: PeerIdentity,
  body: Body,
  fields: LogFields,
  req: IncomingMessage,
) {
  const { keyring } = ctx;
  const grant = identity.grant;
  switch (found.operation) {
    case "encrypt": {
      allowOnly(body, ["plaintext", "key_version"]);
      const plaintext = base64Field(body, "plaintext");
      const requested = optionalVersion(body, "key_version");
      const result = keyring.encrypt(
        grant,
        found.key!,
        plaintext,
        requested === undefined || requested === 0 ? undefined : requested,
      );
      plaintext.fill(0);
      fields.keyVersion = result.version;
      return vaultReply({ ciphertext: result.ciphertext, key_version: result.version });
    }
    case "decrypt": {
      allowOnly(body, ["ciphertext"]);
      const ciphertext = body.ciphertext;
      if (typeof ciphertext !== "string" || ciphertext === "")
        throw new TransitError(400, "invalid_request", "missing ciphertext to decrypt");
      const version = /^vault:v(\d{1,10}):/.exec(ciphertext)?.[1];
      if (version !== undefined) fields.keyVersion = Number(version);
      const plaintext = keyring.decrypt(grant, found.key!, ciphertext);
      const reply = vaultReply({ plaintext: plaintext.toString("base64") });
      plaintext.fill(0);
      return reply;
    }
    case "datakey_plaintext":
    case "datakey_wrapped": {
      allowOnly(body, ["bits"]);
      const bits = body.bits === undefined ? 256 : body.bits;
      if (typeof bits !== "number" || !BITS.has(bits))
        throw new TransitError(400, "invalid_request", "invalid bits: must be 128, 256 or 512");
      const key = randomBytes(bits / 8);
      const result = keyring.encrypt(grant, found.key!, key);
      fields.keyVersion = result.version;
      const data: Record<string, unknown> = { ciphertext: result.ciphertext, key_version: result.version };
      if (found.operation === "datakey_plaintext") data.plaintext = key.toString("base64");
      key.fill(0);
      return vaultReply(data);
    }
    case "token_lookup_self":
    case "token_renew_self":
      return answerTokenSelf(found.operation, identity, body, req, ctx.clock);
    default:
      throw new TransitError(404, "not_found", "unsupported path");
  }
}

function base64Field(body: Body, field: string): Buffer {
  const value = body[field];
  if (value === undefined) throw new TransitError(400, "invalid_request", `missing ${field} to encrypt`);
  if (typeof value !== "string" || !BASE64.test(value)) {
    throw new TransitError(
      400,
      "invalid_request",
      `failed to base64-decode ${field}: it must be standard, padded base64`,
    );
  }
  return Buffer.from(value, "base64");
}

function optionalVersion(body: Body, field: string): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31) {
    throw new TransitError(400, "invalid_request", `invalid ${field}: must be a non-negative integer (0 = newest)`);
  }
  return value;
}
