import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback } from "../internal/http.js";
import {
  FaultQueue,
  type LocalRequest,
  type LocalServer,
  localServerHandle,
  newRequestRecord,
  sendVerbatimFault,
  sleep,
} from "../internal/local-server.js";

/** Options of {@link startVaultFaultProxy}. */
export interface VaultFaultProxyOptions {
  /** The server's `http://127.0.0.1:PORT` (an {@link OpenBao}'s `address`). */
  target: string;
}

/**
 * A running fault proxy: the common {@link LocalServer} handle. Paths (in `requests` and
 * in a fault's `pathPrefix`) are URL paths, e.g. `/v1/auth/token/renew-self`. A fault
 * without `body` answers Vault's format, `{"errors": [message]}`.
 */
export interface VaultFaultProxy extends LocalServer {
  /** `http://127.0.0.1:PORT`: point the client here. */
  readonly address: string;
  /** Requests below `/v1/` whose path starts with `pathPrefix` (e.g. `auth/jwt/login`), with `status` if given. */
  count(pathPrefix: string, status?: number): number;
}

/**
 * Starts an HTTP proxy on 127.0.0.1 in front of a real OpenBao (or Vault): every request
 * is forwarded unchanged unless a queued fault or delay applies, and each is recorded
 * (method, path, redacted headers, status). It exists only for what real OpenBao cannot be
 * made to answer on one chosen call — an exact 5xx, a 429 with `Retry-After`, a malformed
 * 2xx body, a slow answer; everything else is asserted against the server itself. When the
 * server is down (stopped), the client's connection is reset, as with no server at all.
 */
export async function startVaultFaultProxy(options: VaultFaultProxyOptions): Promise<VaultFaultProxy> {
  for (const key of Object.keys(options)) {
    if (key !== "target") throw new Error(`startVaultFaultProxy: unknown option ${key}`);
  }
  const target = new URL(options.target);
  if (target.protocol !== "http:") throw new Error("startVaultFaultProxy: target must be http://");
  const faults = new FaultQueue("startVaultFaultProxy");
  const requests: LocalRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const entry = newRequestRecord(req, Date.now());
    requests.push(entry);
    const { delayMs, fault } = faults.take(entry.path);
    await sleep(delayMs);
    if (fault !== undefined) {
      req.resume();
      entry.status = fault.status;
      entry.fault = true;
      sendVerbatimFault(res, { ...fault, body: fault.body ?? { errors: [fault.message] } });
      return;
    }
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        entry.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const port = await listenOnLoopback(server);
  return {
    ...localServerHandle(requests, faults, () => closeServer(server)),
    address: `http://127.0.0.1:${port}`,
    count: (prefix, status) =>
      requests.filter((r) => r.path.startsWith(`/v1/${prefix}`) && (status === undefined || r.status === status))
        .length,
  };
}
