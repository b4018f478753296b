// The port a child process listens on, read from /proc: the inodes of the sockets among
// its file descriptors, matched against the listening TCP sockets of its network
// namespace. Race-free (the server picked the port itself with port 0), no log parsing.
import { readdir, readFile, readlink } from "node:fs/promises";

const LISTEN = "0A";

/** The TCP ports `pid` listens on (IPv4 and IPv6), in no particular order. */
export async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match) inodes.add(match[1]!);
  }
  const ports: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    const text = await readFile(`/proc/${pid}/net/${table}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== LISTEN || !inodes.has(fields[9]!)) continue;
      const port = Number.parseInt(fields[1]!.split(":")[1]!, 16);
      if (Number.isInteger(port) && port > 0) ports.push(port);
    }
  }
  return ports;
}
