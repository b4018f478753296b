import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfiguredFiles } from "./config-files.js";

describe("readConfiguredFiles", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "confspace-config-files-"));
    await writeFile(join(dir, "a.pem"), "A");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("returns the contents in the order given", async () => {
    const [a, again] = await readConfiguredFiles([
      { path: join(dir, "a.pem"), field: "x.a" },
      { path: join(dir, "a.pem"), field: "x.b" },
    ]);
    expect([a.toString(), again.toString()]).toEqual(["A", "A"]);
  });

  it("names the first unreadable file in the order given, not the read that failed first", async () => {
    // A directory fails at read, after open; a missing file at open, sooner.
    for (let i = 0; i < 20; i++) {
      await expect(
        readConfiguredFiles([
          { path: join(dir, "a.pem"), field: "x.ok" },
          { path: dir, field: "x.directory" },
          { path: join(dir, "missing.pem"), field: "x.missing" },
        ]),
      ).rejects.toMatchObject({ code: "ERR_BROKER_CONFIG", field: "x.directory", message: /cannot be read/ });
    }
  });
});
