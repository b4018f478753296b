import { open, stat } from "node:fs/promises";
import { expiryMs, MAX_TOKEN_BYTES, parseJwt } from "./jwt.js";

/** What one read of the token file found. */
export type TokenFileRead =
  | { kind: "missing" }
  | { kind: "invalid"; reason: string; stamp: string }
  | { kind: "token"; token: string; expiresAt: number; stamp: string };

/**
 * Identity of the file's current content: device, inode, size, mtime and ctime (ns).
 * The launcher replaces the file by rename, which changes the inode; an in-place write
 * changes size or times. Cheap enough to check on every call.
 */
export async function tokenFileStamp(path: string): Promise<string | undefined> {
  try {
    return stampOf(await stat(path, { bigint: true }));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * Reads the token file through one descriptor, so the stamp describes exactly the bytes
 * read even if the file is replaced meanwhile. Never throws for bad content; throws
 * the file system's error when the file exists but cannot be read.
 */
export async function readTokenFile(path: string): Promise<TokenFileRead> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (isMissing(error)) return { kind: "missing" };
    throw error;
  }
  try {
    const stamp = stampOf(await handle.stat({ bigint: true }));
    const buffer = Buffer.alloc(MAX_TOKEN_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length)
        return { kind: "invalid", reason: `it is larger than ${MAX_TOKEN_BYTES} bytes`, stamp };
    }
    const token = buffer.toString("utf8", 0, length).trim();
    const parsed = parseJwt(token);
    if (!parsed.ok) return { kind: "invalid", reason: parsed.reason, stamp };
    const expiresAt = expiryMs(parsed.payload);
    if (expiresAt === undefined) return { kind: "invalid", reason: "its payload has no numeric exp claim", stamp };
    return { kind: "token", token, expiresAt, stamp };
  } finally {
    await handle.close();
  }
}

function stampOf(s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
