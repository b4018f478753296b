import { isIP } from "node:net";
import { type ConnectionOptions, connect, type TLSSocket } from "node:tls";
import { BoundConnectionError, EkmArgumentError, EkmError } from "../errors.js";
import { startDeadline } from "./deadline.js";

export interface OpenTls13Options {
  /** Parsed `https:` origin to connect to. */
  url: URL;
  /** Caller's TLS options, already checked by {@link checkTlsOptions}. */
  tls: ConnectionOptions;
  /** Connect plus handshake limit, in milliseconds; 0 = none. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** Options the caller cannot set: they come from the URL or are fixed to keep the binding safe. */
const OWNED_OPTIONS = ["host", "port", "path", "socket", "secureProtocol", "ALPNProtocols", "timeout"] as const;

/**
 * Throws {@link EkmArgumentError} for TLS options that would weaken or bypass the
 * connection. `checkServerIdentity` is refused: it replaces the host-name check, so one
 * returning `undefined` binds tokens to any server holding any trusted certificate.
 * `servername` is accepted only where it cannot point the check elsewhere: equal to the
 * URL's host name (ignoring case), or when the URL names an IP address (the server's
 * certificate then has to be valid for `servername`).
 */
export function checkTlsOptions(tls: ConnectionOptions, url?: URL): void {
  if (tls === null || typeof tls !== "object") throw new EkmArgumentError("tls", "tls must be an object");
  for (const key of OWNED_OPTIONS) {
    if (tls[key] !== undefined) {
      throw new EkmArgumentError(
        `tls.${key}`,
        `tls.${key} cannot be set: the connection goes to the URL's host and port, over TLS 1.3 with HTTP/1.1`,
      );
    }
  }
  for (const key of ["minVersion", "maxVersion"] as const) {
    if (tls[key] !== undefined && tls[key] !== "TLSv1.3") {
      throw new EkmArgumentError(`tls.${key}`, `tls.${key} must be "TLSv1.3" or unset: keying material needs TLS 1.3`);
    }
  }
  if (tls.checkServerIdentity !== undefined) {
    throw new EkmArgumentError(
      "tls.checkServerIdentity",
      "tls.checkServerIdentity cannot be set: it replaces the check that the certificate names the URL's host, so a token could be bound to another server; pass tls.ca to trust a private CA",
    );
  }
  if (tls.servername !== undefined) {
    const host = url === undefined ? undefined : url.hostname.replace(/^\[(.*)\]$/, "$1");
    const byAddress = host !== undefined && isIP(host) !== 0;
    if (typeof tls.servername !== "string" || tls.servername === "" || isIP(tls.servername) !== 0) {
      throw new EkmArgumentError("tls.servername", "tls.servername must be a DNS host name");
    }
    if (!byAddress && tls.servername.toLowerCase() !== host?.toLowerCase()) {
      throw new EkmArgumentError(
        "tls.servername",
        "tls.servername may only differ from the URL's host when the URL names an IP address: the certificate is checked against it, so another name would accept another server; put the name in the URL",
      );
    }
  }
  if (tls.rejectUnauthorized === false) {
    throw new EkmArgumentError(
      "tls.rejectUnauthorized",
      "tls.rejectUnauthorized cannot be false: binding a token to an unverified server gives it to anyone; pass tls.ca to trust a private CA",
    );
  }
}

/**
 * Opens a TLS 1.3 connection to `url`, verifying the server certificate, and hands the
 * established socket to `onEstablished` synchronously inside `secureConnect`, so the
 * caller attaches its listeners before any later event can fire. Whatever
 * `onEstablished` returns resolves the promise; if it throws, the socket is destroyed.
 */
export function openTls13<T>(options: OpenTls13Options, onEstablished: (socket: TLSSocket) => T): Promise<T> {
  const { url, timeoutMs, signal } = options;
  const origin = url.origin;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? 443 : Number(url.port);

  return new Promise<T>((resolve, reject) => {
    const deadline = startDeadline(
      signal,
      timeoutMs,
      () =>
        new BoundConnectionError(
          "ERR_CONNECT_TIMEOUT",
          origin,
          `No TLS 1.3 handshake with ${origin} within ${timeoutMs} ms; check that the server is reachable, or raise timeoutMs`,
          { timeoutMs },
        ),
    );
    if (deadline.signal.aborted) {
      deadline.dispose();
      reject(deadline.signal.reason);
      return;
    }

    const socket = connect({
      ...options.tls,
      host,
      port,
      // SNI carries host names only (RFC 6066 §3); certificate checks still use the IP.
      ...(options.tls.servername === undefined && isIP(host) === 0 ? { servername: host } : {}),
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      ALPNProtocols: ["http/1.1"],
      rejectUnauthorized: true,
    });

    const settle = (error: unknown) => {
      cleanup();
      // Late errors of a socket being thrown away must not become uncaught exceptions.
      socket.on("error", ignore).destroy();
      reject(error);
    };
    const onError = (error: Error) => settle(mapHandshakeError(error, origin));
    const onClose = () =>
      settle(
        new BoundConnectionError(
          "ERR_CONNECT_FAILED",
          origin,
          `${origin} closed the connection during the TLS handshake`,
        ),
      );
    const onAbort = () => settle(deadline.signal.reason);
    const onSecureConnect = () => {
      cleanup();
      if (!socket.authorized) {
        socket.on("error", ignore).destroy();
        reject(
          new BoundConnectionError("ERR_CONNECT_FAILED", origin, `The certificate of ${origin} is not trusted`, {
            cause: socket.authorizationError,
          }),
        );
        return;
      }
      try {
        resolve(onEstablished(socket));
      } catch (error) {
        socket.on("error", ignore).destroy();
        reject(error);
      }
    };
    function cleanup() {
      deadline.dispose();
      deadline.signal.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off("close", onClose);
      socket.off("secureConnect", onSecureConnect);
    }

    socket.on("error", onError);
    socket.on("close", onClose);
    socket.once("secureConnect", onSecureConnect);
    deadline.signal.addEventListener("abort", onAbort, { once: true });
  });
}

function ignore() {}

// OpenSSL's names for "no TLS version both ends accept" (peer alert or local refusal).
const VERSION_MISMATCH = /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE/;

function mapHandshakeError(error: Error, origin: string): Error {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (VERSION_MISMATCH.test(code)) {
    return new EkmError(
      "ERR_TLS_VERSION",
      `${origin} did not agree to TLS 1.3, which is required for exported keying material; enable TLS 1.3 on the server`,
      { cause: error },
    );
  }
  const detail = code === "" ? "" : ` (${code})`;
  return new BoundConnectionError(
    "ERR_CONNECT_FAILED",
    origin,
    `Could not open a TLS 1.3 connection to ${origin}${detail}; check the address and that tls.ca trusts the server certificate`,
    { cause: error },
  );
}
