// Packaging gates for every publishable package: pack it exactly as `pnpm publish`
// would (publishConfig applied), then run publint --strict and
// @arethetypeswrong/cli on that tarball. Writes a summary to .tmp/package-gates.json.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const root = resolve(import.meta.dirname, "..");
const packagesDir = join(root, "packages");
const outDir = mkdtempSync(join(tmpdir(), "confspace-pack-"));
const results = [];

for (const name of readdirSync(packagesDir).sort()) {
  const dir = join(packagesDir, name);
  const manifestPath = join(dir, "package.json");
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  if (manifest.private) continue;
  const failures = [];
  let tarball;
  try {
    const out = execFileSync("pnpm", ["pack", "--pack-destination", outDir], { cwd: dir, encoding: "utf8" });
    tarball = out
      .trim()
      .split("\n")
      .filter((l) => l.endsWith(".tgz"))
      .pop();
  } catch (error) {
    failures.push(`pnpm pack failed: ${error.message}`);
  }
  if (tarball) {
    const bytes = readFileSync(tarball);
    const { messages, pkg } = await publint({
      pkgDir: "package",
      strict: true,
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
    });
    for (const m of messages) failures.push(`publint ${m.type}: ${formatMessage(m, pkg)}`);
    try {
      execFileSync(
        join(root, "node_modules", ".bin", "attw"),
        ["--format", "ascii", "--no-emoji", "--no-color", tarball],
        { encoding: "utf8", stdio: "pipe" },
      );
    } catch (error) {
      failures.push(`attw: ${error.stdout || error.message}`);
    }
  }
  results.push({ name: manifest.name, ok: failures.length === 0, failures });
  console.log(`${failures.length === 0 ? "✓" : "✗"} ${manifest.name}: publint --strict, attw`);
  for (const f of failures) console.log(`    ${f.replaceAll("\n", "\n    ")}`);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(join(root, ".tmp"), { recursive: true });
writeFileSync(join(root, ".tmp", "package-gates.json"), JSON.stringify(results, null, 2));
const failed = results.filter((r) => !r.ok).length;
console.log(`package gates: ${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
