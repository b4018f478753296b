import { readFileSync } from "node:fs";
import { isIPv4, isIPv6, type Server, type Socket } from "node:net";

/** Defaults of the connection limits (`limits.*` in the configuration). */
export const CONNECTION_DEFAULTS = {
  handshakeTimeoutSeconds: 5,
  maxConnections: 512,
  maxConnectionsPerSource: 64,
} as const;

/**
 * Accept queue of the token listener (Node's default is 511; Linux caps it at
 * `net.core.somaxconn`, 4096 on current kernels). Connections closed at accept by a cap
 * come back in bursts; a short queue overflows and a legitimate client's SYN waits a
 * whole retransmission second.
 */
export const LISTEN_BACKLOG = 4096;

/**
 * File descriptors the broker needs besides client connections: stdio, libuv's own, the
 * metrics listener, keep-alive sockets to Entra, STS and the JWKS, certificate files
 * being read. Measured well under 64; documented as 128 to leave room.
 */
export const FD_HEADROOM = 128;

/** Why a connection was closed at accept. */
export type RefusalReason = "max_connections" | "per_source";

/** Options of {@link guardConnections}. */
export interface ConnectionGuardOptions {
  /** Most connections open at once; further ones are closed at accept by Node. */
  maxConnections: number;
  /** Most open connections per source ({@link sourceKey}); 0 = no per-source cap. */
  maxConnectionsPerSource: number;
  /** Told of every connection closed at accept. */
  onRefused(reason: RefusalReason): void;
  /** Told when the number of open connections changes. */
  onOpenChange?(open: number): void;
}

/**
 * The bucket a remote address falls in: an IPv4 address itself (also when mapped into
 * IPv6), an IPv6 address's /64 (one host usually holds a whole /64, so counting single
 * IPv6 addresses would not limit anyone).
 */
export function sourceKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  // Asked at accept and again per request, mostly for the same few addresses: remember the last.
  if (address === lastAddress) return lastKey;
  const key = computeSourceKey(address);
  lastAddress = address;
  lastKey = key;
  return key;
}

let lastAddress: string | undefined;
let lastKey = "";

function computeSourceKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(":")}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.split("%", 1)[0]!.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, "").toLowerCase());
}

/**
 * Caps the connections of a (TLS) server: `server.maxConnections` closes connections
 * over the global cap at accept, before any TLS work; a `connection` listener closes a
 * source's connections over its cap just as early. Keeps the broker inside its
 * file-descriptor budget and stops one source from taking every slot.
 */
export function guardConnections(server: Server, options: ConnectionGuardOptions): void {
  server.maxConnections = options.maxConnections;
  server.on("drop", () => options.onRefused("max_connections"));
  const perSource = new Map<string, number>();
  let open = 0;
  server.on("connection", (socket: Socket) => {
    const key = sourceKey(socket.remoteAddress);
    const count = (perSource.get(key) ?? 0) + 1;
    if (options.maxConnectionsPerSource > 0 && count > options.maxConnectionsPerSource) {
      options.onRefused("per_source");
      socket.destroy();
      return;
    }
    perSource.set(key, count);
    open += 1;
    options.onOpenChange?.(open);
    socket.once("close", () => {
      const left = (perSource.get(key) ?? 1) - 1;
      if (left === 0) perSource.delete(key);
      else perSource.set(key, left);
      open -= 1;
      options.onOpenChange?.(open);
    });
  });
}

/** The process's soft file-descriptor limit (`ulimit -n`), where Linux tells it; else undefined. */
export function fileDescriptorLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match === null || match[1] === "unlimited") return undefined;
    return Number(match[1]);
  } catch {
    return undefined;
  }
}
