import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..", "..");

describe("confspace-emulator from the checkout", () => {
  it("runs as the README says, `npx confspace-emulator`, from the source without a build", async () => {
    // --no: never download a package of that name; the checkout's own bin must answer.
    const { stdout } = await promisify(execFile)("npx", ["--no", "--", "confspace-emulator", "--help"], {
      cwd: join(root, "examples", "broker"),
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(stdout).toMatch(/^Usage:\s+confspace-emulator /);
  });

  it("publishes dist/cli.js as the bin, not the checkout's tsx launcher", async () => {
    const manifest = JSON.parse(await readFile(join(import.meta.dirname, "..", "package.json"), "utf8"));
    expect(manifest.bin).toEqual({ "confspace-emulator": "./bin/confspace-emulator.js" });
    expect(manifest.publishConfig.bin).toEqual({ "confspace-emulator": "./dist/cli.js" });
    expect(manifest.files).toEqual(["dist"]);
  });
});
