import type { TLSSocket } from "node:tls";
import { EkmArgumentError, EkmError } from "./errors.js";
import { toEkmParams } from "./internal/ekm-params.js";

/** What to export: the inputs of the TLS 1.3 exporter (RFC 8446 §7.5). */
export interface ExportKeyingMaterialOptions {
  /**
   * Exporter label: printable ASCII, 1 to 249 characters, not starting with a label TLS
   * uses itself (`client finished`, `server finished`, `master secret`, `key expansion`).
   * Use an IANA-registered label or your own versioned one such as
   * `EXPORTER-my-protocol-v1`. No default.
   */
  label: string;
  /**
   * Per-use context mixed into the output: bytes, or a string encoded as UTF-8. At most
   * 65,535 bytes. Default: none. On TLS 1.3 (the only version accepted here) no context
   * and an empty context give the same output.
   */
  context?: Uint8Array | string;
  /** Output length, in bytes, from 1 to 255. Default: 32. Use at least 32 to bind tokens. */
  length?: number;
}

/**
 * Exports keying material (RFC 8446 §7.5, RFC 5705) from an established TLS 1.3
 * connection. Both ends of one connection get the same bytes for the same label and
 * context; any other connection gets different bytes.
 *
 * Only TLS 1.3 is accepted: on TLS 1.2 exporters are only safe with the extended master
 * secret, and Node cannot tell whether it was negotiated.
 *
 * Note Node's own method takes `(length, label, context)`, Go's `(label, context, length)`;
 * this function takes one options object.
 *
 * @throws {EkmError} `ERR_TLS_STATE` before the handshake has completed or once the socket
 *   is destroyed; `ERR_TLS_VERSION` on anything but TLS 1.3.
 * @throws {EkmArgumentError} on an invalid label, context or length.
 *
 * @example
 * ```ts
 * const socket = tls.connect({ host, port, minVersion: "TLSv1.3" });
 * await once(socket, "secureConnect");
 * const ekm = exportKeyingMaterial(socket, { label: "EXPORTER-my-protocol-v1", context: "session-1" });
 * ```
 */
export function exportKeyingMaterial(socket: TLSSocket, options: ExportKeyingMaterialOptions): Buffer {
  const { label, context, length } = toEkmParams(options);
  if (socket === null || typeof socket !== "object" || typeof socket.exportKeyingMaterial !== "function") {
    throw new EkmArgumentError("socket", "socket must be a TLSSocket (node:tls)");
  }
  if (socket.destroyed) {
    throw new EkmError("ERR_TLS_STATE", "The TLS socket is closed; keying material can only be read while it is open");
  }

  let material: Buffer;
  try {
    // Node's argument order is (length, label, context); Go's is (label, context, length).
    material =
      context === undefined
        ? (socket.exportKeyingMaterial as (length: number, label: string) => Buffer).call(socket, length, label)
        : socket.exportKeyingMaterial(length, label, context);
  } catch (error) {
    // Before the handshake Node throws ERR_TLS_INVALID_STATE; a socket whose handle is
    // already gone throws a TypeError. Either way there is nothing to export from.
    throw new EkmError(
      "ERR_TLS_STATE",
      "The TLS handshake has not completed on this socket; wait for 'secureConnect' (client) or 'secureConnection' (server)",
      { cause: error },
    );
  }

  // getProtocol() reports the configured version before the handshake, so it is only
  // trusted here, after Node has confirmed the handshake is done.
  const protocol = socket.getProtocol();
  if (protocol !== "TLSv1.3") {
    material.fill(0);
    throw new EkmError(
      "ERR_TLS_VERSION",
      `TLS 1.3 is required to export keying material, but this connection uses ${protocol ?? "no TLS version"}; configure both ends for TLS 1.3 (minVersion: "TLSv1.3")`,
      { protocol },
    );
  }
  return material;
}
