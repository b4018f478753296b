// `pnpm test`: install the test tools, build, every unit and integration test, the packaging gates,
// the README snippets (every ```ts block typechecks: scripts/check-snippets.mjs), the
// typecheck and the linter, each run even when an earlier one failed, then one
// closing line `N passed, N failed` (tests, one gate per published package, one per README with ```ts blocks).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const tmp = join(root, ".tmp");
const report = join(tmp, "vitest-report.json");
const gates = join(tmp, "package-gates.json");
const snippetGates = join(tmp, "snippet-gates.json");
const installChecks = join(tmp, "install-checks.json");
rmSync(report, { force: true });
rmSync(gates, { force: true });
rmSync(installChecks, { force: true });
rmSync(snippetGates, { force: true });

function run(title, command, args) {
  console.log(`\n== ${title}`);
  const started = Date.now();
  const { status } = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  console.log(`== ${title}: ${status === 0 ? "ok" : "FAILED"} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return status === 0;
}

const steps = {};
// The tools first: a test that needs OpenBao or HAProxy fails when it is missing, never skips.
steps.tools = run("tools (scripts/tools.sh)", "bash", ["scripts/tools.sh"]);
steps.build = steps.tools && run("build", "pnpm", ["run", "build"]);
steps.tests =
  steps.build &&
  run("tests", "vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`]);
steps.gates = steps.build && run("packaging gates (publint --strict, attw)", "node", ["scripts/check-packages.mjs"]);
steps.install =
  steps.build &&
  run("install test (packed tarballs in a scratch app, ESM and CJS on Node 22 and 24, examples copied out)", "node", [
    "scripts/check-install.mjs",
  ]);
steps.snippets = run("README snippets (every ```ts block typechecks)", "node", ["scripts/check-snippets.mjs"]);
steps.typecheck = run("typecheck", "tsc", ["-p", "tsconfig.json", "--noEmit"]);
steps.lint = run("lint", "biome", ["check", "."]);

const perPackage = new Map();
const count = (name, status) => {
  const row = perPackage.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
  if (status === "passed") row.passed += 1;
  else if (status === "failed") row.failed += 1;
  else row.skipped += 1;
  perPackage.set(name, row);
};
// Test files that run against the real OpenBao server: they (or a helper they import
// relatively) start it. Counted again on a line of their own, so a run shows that the
// OpenBao tests executed and against which server.
const OPENBAO = /\bstart(OpenBao|VaultFaultProxy)\b/;
function usesOpenBao(path) {
  const text = readFileSync(path, "utf8");
  if (OPENBAO.test(text)) return true;
  for (const [, spec] of text.matchAll(/from "(\.\.?\/[^"]+)"/g)) {
    const imported = resolve(dirname(path), spec.replace(/\.js$/, ".ts"));
    if (existsSync(imported) && OPENBAO.test(readFileSync(imported, "utf8"))) return true;
  }
  return false;
}
const openBao = { passed: 0, failed: 0, files: 0 };
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, "utf8"));
  for (const file of json.testResults ?? []) {
    const [top, name] = relative(root, file.name).split("/");
    const owner = `${top}/${name}`;
    const real = existsSync(file.name) && usesOpenBao(file.name);
    if (real) openBao.files += 1;
    if ((file.assertionResults ?? []).length === 0 && file.status === "failed") count(owner, "failed"); // a file that failed to load
    for (const test of file.assertionResults ?? []) {
      count(owner, test.status);
      if (real && test.status === "passed") openBao.passed += 1;
      if (real && test.status === "failed") openBao.failed += 1;
    }
  }
}
function openBaoVersion() {
  const binary = process.env.BAO_BIN || process.env.VAULT_BIN || join(root, ".tools", "bin", "bao");
  const { stdout, status } = spawnSync(binary, ["version"], { encoding: "utf8" });
  return status === 0 ? stdout.split(" (")[0].trim() : `${binary} (no version)`;
}
if (existsSync(installChecks)) {
  for (const check of JSON.parse(readFileSync(installChecks, "utf8")))
    count("install test (scripts/check-install.mjs)", check.ok ? "passed" : "failed");
}
if (existsSync(gates)) {
  for (const gate of JSON.parse(readFileSync(gates, "utf8")))
    count(`gates ${gate.name}`, gate.ok ? "passed" : "failed");
}
if (existsSync(snippetGates)) {
  for (const readme of JSON.parse(readFileSync(snippetGates, "utf8")))
    count(`snippets ${readme.name}`, readme.ok ? "passed" : "failed");
}

console.log("\n== summary");
let passed = 0;
let failed = 0;
let skipped = 0;
for (const [name, row] of [...perPackage].sort()) {
  console.log(
    `  ${name.padEnd(40)} ${row.passed} passed, ${row.failed} failed${row.skipped ? `, ${row.skipped} skipped` : ""}`,
  );
  passed += row.passed;
  failed += row.failed;
  skipped += row.skipped;
}
console.log(
  `  of these, against real ${openBaoVersion()}: ${openBao.passed} passed, ${openBao.failed} failed (${openBao.files} files)`,
);
const failedSteps = Object.entries(steps)
  .filter(([, ok]) => !ok)
  .map(([name]) => name);
if (failedSteps.length > 0) console.log(`  failed steps: ${failedSteps.join(", ")}`);
if (skipped > 0) console.log(`  ${skipped} tests skipped or todo: none should be left behind`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failedSteps.length === 0 && failed === 0 && skipped === 0 && passed > 0 ? 0 : 1;
