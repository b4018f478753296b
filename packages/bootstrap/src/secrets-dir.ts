// The private tmpfs directory file secrets are written to: created 0700 under a parent that
// must be on tmpfs (or ramfs) and not replaceable by others, each file 0600, created
// exclusively, checked after writing, and removed when the app has exited.
import { constants } from "node:fs";
import { lstat, mkdtemp, open, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { SecretTargetError } from "./errors.js";

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** A created secrets directory. */
export interface SecretsDir {
  /** Absolute path of the directory (mode 0700). */
  readonly path: string;
  /** Writes one secret as `name` (mode 0600); refuses an existing file or a file others could read. */
  write(name: string, value: Uint8Array): Promise<string>;
  /** Removes the directory and everything in it. */
  remove(): Promise<void>;
}

/** Options of {@link createSecretsDir}. */
export interface SecretsDirOptions {
  /** Accept a parent that is not tmpfs/ramfs (tests on other systems only). Default `false`. */
  allowNonTmpfs?: boolean;
}

/**
 * Creates `PARENT/confspace-bootstrap-XXXXXX` (mode 0700).
 *
 * @throws {SecretTargetError} the parent is missing, not a directory, a symlink, writable by
 *   others without the sticky bit, not on tmpfs/ramfs, or the new directory ends up readable by others.
 */
export async function createSecretsDir(parent: string, options: SecretsDirOptions = {}): Promise<SecretsDir> {
  const info = await lstat(parent).catch((error: NodeJS.ErrnoException) => {
    throw new SecretTargetError(parent, `secrets directory parent ${parent} is not usable (${error.code})`, {
      cause: error,
    });
  });
  if (!info.isDirectory()) throw new SecretTargetError(parent, `${parent} is not a directory (symlinks are refused)`);
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0) {
    throw new SecretTargetError(
      parent,
      `${parent} is writable by others without the sticky bit: another user could replace the secrets directory`,
    );
  }
  if (!options.allowNonTmpfs) {
    const fs = await statfs(parent);
    if (fs.type !== TMPFS_MAGIC && fs.type !== RAMFS_MAGIC) {
      throw new SecretTargetError(
        parent,
        `${parent} is not on tmpfs: secrets would be written to a disk (use /dev/shm or another tmpfs)`,
      );
    }
  }
  const path = await mkdtemp(join(parent, "confspace-bootstrap-"));
  const created = await lstat(path);
  if ((created.mode & 0o077) !== 0 || created.uid !== process.getuid?.()) {
    await rm(path, { recursive: true, force: true });
    throw new SecretTargetError(
      path,
      `the secrets directory ${path} is accessible to others (mode ${(created.mode & 0o777).toString(8)})`,
    );
  }
  return {
    path,
    async write(name, value) {
      const file = join(path, name);
      const handle = await open(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        await handle.chmod(0o600);
        const stat = await handle.stat();
        if ((stat.mode & 0o077) !== 0) throw new SecretTargetError(file, `${file} would be readable by others`);
        await handle.writeFile(value);
      } finally {
        await handle.close();
      }
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
