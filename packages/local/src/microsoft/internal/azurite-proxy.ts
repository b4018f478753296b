import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Agent, createServer, request } from "node:https";
import { listenOnLoopback } from "../../internal/http.js";
import {
  type FaultQueue,
  type LocalRequest,
  newRequestRecord,
  type QueuedFault,
  sendVerbatimFault,
  sleep,
} from "../../internal/local-server.js";

/** One request to Azurite, as the proxy in front of it saw it; `error` is `x-ms-error-code`. */
export interface LocalAzuriteRequest extends LocalRequest {
  /** The container named in the path (after the account), if any. */
  container: string | undefined;
  /** The blob named in the path (after the container), if any. */
  blob: string | undefined;
}

/** What the proxy needs: Azurite's port, the PEMs it serves, where to log and fault. */
export interface AzuriteProxyOptions {
  targetPort: number;
  certPem: string;
  keyPem: string;
  faults: FaultQueue;
  requests: LocalAzuriteRequest[];
}

/**
 * An HTTPS proxy on a loopback port in front of Azurite: records every request, answers
 * queued faults in Azure Storage's XML error format, and forwards the rest over TLS to
 * Azurite, whose certificate is pinned (it is the proxy's own certificate).
 */
export async function startAzuriteProxy(options: AzuriteProxyOptions): Promise<{ server: Server; close(): void }> {
  // allowPartialTrustChain: the pinned leaf is the only trust anchor (no CA needed).
  const agent = new Agent({ keepAlive: true, ca: options.certPem, allowPartialTrustChain: true });
  const server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    handle(options, agent, req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else sendStorageError(res, 500, "InternalError", "The proxy in front of Azurite failed.", req.method === "HEAD");
    });
  });
  await listenOnLoopback(server);
  return { server, close: () => agent.destroy() };
}

async function handle(options: AzuriteProxyOptions, agent: Agent, req: IncomingMessage, res: ServerResponse) {
  const base = newRequestRecord(req, Date.now());
  const [, container, ...blob] = base.path.split("/").slice(1);
  const record: LocalAzuriteRequest = {
    ...base,
    container: container ? decode(container) : undefined,
    blob: blob.length > 0 ? decode(blob.join("/")) : undefined,
  };
  options.requests.push(record);
  const { delayMs, fault } = options.faults.take(record.path);
  await sleep(delayMs);
  if (fault) return answerFault(record, fault, req, res);
  await new Promise<void>((resolve, reject) => {
    const upstream = request(
      {
        agent,
        host: "127.0.0.1",
        port: options.targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (reply) => {
        record.status = reply.statusCode ?? 0;
        const code = reply.headers["x-ms-error-code"];
        record.error = typeof code === "string" ? code : undefined;
        res.writeHead(record.status, reply.headers);
        reply.pipe(res);
        reply.once("end", resolve);
        reply.once("error", reject);
      },
    );
    upstream.once("error", reject);
    req.pipe(upstream);
  });
}

function answerFault(record: LocalAzuriteRequest, fault: QueuedFault, req: IncomingMessage, res: ServerResponse) {
  record.fault = true;
  record.status = fault.status;
  req.resume();
  if (fault.body !== undefined) {
    record.error = fault.code;
    return sendVerbatimFault(res, { ...fault, body: fault.body });
  }
  const code = fault.code ?? defaultCode(fault.status);
  record.error = code;
  sendStorageError(res, fault.status, code, fault.message, req.method === "HEAD", fault.headers);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Azure Storage's error codes for an injected fault without `code`. */
function defaultCode(status: number): string {
  if (status === 503) return "ServerBusy";
  if (status >= 500) return "InternalError";
  if (status === 403) return "AuthenticationFailed";
  if (status === 404) return "ResourceNotFound";
  return "InvalidInput";
}

/** Azure Storage's error reply: `x-ms-error-code` and `<Error><Code/><Message/></Error>` (no body for HEAD). */
function sendStorageError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  head: boolean,
  headers: Readonly<Record<string, string>> = {},
): void {
  const requestId = randomUUID();
  const escaped = message.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const xml =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${escaped}\n` +
    `RequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  res.writeHead(status, {
    "content-type": "application/xml",
    "x-ms-error-code": code,
    "x-ms-request-id": requestId,
    ...(head ? {} : { "content-length": Buffer.byteLength(xml) }),
    ...headers,
  });
  res.end(head ? undefined : xml);
}
