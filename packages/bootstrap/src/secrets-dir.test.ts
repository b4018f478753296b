import { chmod, lstat, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SecretTargetError } from "./errors.js";
import { createSecretsDir } from "./secrets-dir.js";

const scratch: string[] = [];
afterEach(async () => {
  for (const path of scratch.splice(0)) await rm(path, { recursive: true, force: true });
});

async function shmDir(mode: number): Promise<string> {
  const path = await mkdtemp("/dev/shm/confspace-bootstrap-test-");
  scratch.push(path);
  await chmod(path, mode);
  return path;
}

describe("createSecretsDir", () => {
  it("creates a 0700 directory on tmpfs whose files are 0600, and removes it", async () => {
    const dir = await createSecretsDir(await shmDir(0o700));
    expect((await lstat(dir.path)).mode & 0o777).toBe(0o700);
    const file = await dir.write("token", Buffer.from("value"));
    expect((await lstat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toBe("value");
    await dir.remove();
    await expect(lstat(dir.path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("accepts /dev/shm itself (world-writable, but sticky)", async () => {
    const dir = await createSecretsDir("/dev/shm");
    scratch.push(dir.path);
    expect(dir.path.startsWith("/dev/shm/confspace-bootstrap-")).toBe(true);
  });

  it("never overwrites an existing file", async () => {
    const dir = await createSecretsDir(await shmDir(0o700));
    await dir.write("token", Buffer.from("one"));
    await expect(dir.write("token", Buffer.from("two"))).rejects.toMatchObject({ code: "EEXIST" });
    await dir.remove();
  });

  it("refuses a parent others can write to without the sticky bit", async () => {
    const parent = await shmDir(0o777);
    await expect(createSecretsDir(parent)).rejects.toThrow(SecretTargetError);
    await expect(createSecretsDir(parent)).rejects.toThrow(/writable by others without the sticky bit/);
  });

  it("refuses a parent that is not on tmpfs", async () => {
    const parent = await mkdtemp(join(tmpdir(), "confspace-bootstrap-test-"));
    scratch.push(parent);
    const { type } = await import("node:fs/promises").then((fs) => fs.statfs(parent));
    expect(type).not.toBe(0x01021994); // the premise: os.tmpdir() is a disk here
    await expect(createSecretsDir(parent)).rejects.toThrow(/is not on tmpfs/);
  });

  it("refuses a symlink as the parent", async () => {
    const target = await shmDir(0o700);
    const link = `${target}-link`;
    scratch.push(link);
    await symlink(target, link);
    await expect(createSecretsDir(link)).rejects.toThrow(/symlinks are refused/);
  });

  it("refuses a missing parent, naming it", async () => {
    await expect(createSecretsDir("/dev/shm/does-not-exist-confspace")).rejects.toMatchObject({
      code: "ERR_SECRET_TARGET",
      target: "/dev/shm/does-not-exist-confspace",
    });
  });
});
