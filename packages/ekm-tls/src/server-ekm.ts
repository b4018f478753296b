import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest, ServerHttp2Stream } from "node:http2";
import { TLSSocket } from "node:tls";
import { EkmArgumentError, EkmError } from "./errors.js";
import { type ExportKeyingMaterialOptions, exportKeyingMaterial } from "./export-keying-material.js";

/**
 * A request as a Node server hands it over: `node:https` (`IncomingMessage`), the
 * `node:http2` compatibility API (`Http2ServerRequest`) or an HTTP/2 stream
 * (`ServerHttp2Stream`, from the `stream` event).
 */
export type ServerRequestLike = IncomingMessage | Http2ServerRequest | ServerHttp2Stream;

/**
 * Exports keying material from the TLS 1.3 connection a server-side request arrived on:
 * the bytes the client computed for the same label and context on its end (for example
 * `connectBound(...).ekm`). Works with `node:https` and `node:http2` (compatibility API
 * and streams).
 *
 * Behind a TLS-terminating proxy the connection is the proxy's, not the client's: the
 * server must terminate TLS itself (a load balancer in front is TCP passthrough).
 *
 * @throws {EkmError} `ERR_TLS_VERSION` when the connection is not TLS 1.3;
 *   `ERR_TLS_STATE` when the request did not arrive over TLS or its connection is gone.
 * @throws {EkmArgumentError} on an invalid label, context or length.
 *
 * @example
 * ```ts
 * https.createServer({ key, cert, minVersion: "TLSv1.3" }, (req, res) => {
 *   const ekm = requestKeyingMaterial(req, { label: "EXPORTER-my-protocol-v1" });
 *   // compare a token's nonce with ekm in constant time…
 * });
 * ```
 */
export function requestKeyingMaterial(req: ServerRequestLike, options: ExportKeyingMaterialOptions): Buffer {
  return exportKeyingMaterial(tlsSocketOf(req), options);
}

function tlsSocketOf(req: ServerRequestLike): TLSSocket {
  if (req === null || typeof req !== "object") {
    throw new EkmArgumentError("req", "req must be a request from node:https or node:http2");
  }
  // HTTP/2: the connection belongs to the session, reached through the stream. Node hands
  // out a proxy of the TLSSocket there, which still forwards exportKeyingMaterial.
  const stream = "stream" in req ? req.stream : "session" in req ? req : undefined;
  const socket: unknown = stream !== undefined ? stream.session?.socket : (req as IncomingMessage).socket;
  if (socket === undefined || socket === null) {
    throw new EkmError("ERR_TLS_STATE", "The request's connection is closed; keying material is no longer available");
  }
  if (!(socket instanceof TLSSocket)) {
    throw new EkmError(
      "ERR_TLS_STATE",
      "The request did not arrive over TLS; serve it with node:https or http2.createSecureServer",
    );
  }
  return socket;
}
