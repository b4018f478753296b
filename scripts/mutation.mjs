// `pnpm mutation [target…]`: StrykerJS mutation testing of the code whose mistakes open doors —
// the token lifecycle engine, the relying-party verifier and the workload policy. Not part of
// `pnpm test` (minutes per target). Each target mutates its sources one change at a time and
// runs only that package's tests against each mutant; a mutant no test notices "survives".
// Prints killed/total per target; HTML + JSON reports land in .tmp/mutation/<target>/.
//
//   pnpm mutation              every target whose sources exist
//   pnpm mutation core         one target (core | verify | policy)
//   MUTATION_CONCURRENCY=1     fewer test workers (default 2)
//   MUTATION_FILES=a.ts,b.ts   mutate only these files of the target (paths from the repo root);
//                              reports then land in .tmp/mutation/<target>-<first file's name>/
import { existsSync, globSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Stryker } from "@stryker-mutator/core";

const root = resolve(import.meta.dirname, "..");

/** What each target mutates and which tests judge it. */
const targets = {
  core: {
    mutate: ["packages/core/src/**/*.ts", "!packages/core/src/**/*.test.ts", "!packages/core/src/index.ts"],
    tests: "packages/core",
  },
  verify: {
    mutate: [
      "packages/attestation/src/verify/**/*.ts",
      "!packages/attestation/src/verify/**/*.test.ts",
      "!packages/attestation/src/verify/index.ts",
    ],
    tests: "packages/attestation/src/verify",
  },
  // The one WorkloadPolicy model: validation, claim-path walker, evaluator, key IDs, renderers.
  policy: {
    mutate: ["packages/policy/src/**/*.ts", "!packages/policy/src/**/*.test.ts", "!packages/policy/src/index.ts"],
    tests: "packages/policy",
  },
};

const requested = process.argv.slice(2);
for (const name of requested) {
  if (!(name in targets)) {
    console.error(`unknown mutation target "${name}"; known: ${Object.keys(targets).join(", ")}`);
    process.exit(2);
  }
}
const concurrency = Number(process.env.MUTATION_CONCURRENCY ?? 2);
const only = (process.env.MUTATION_FILES ?? "").split(",").filter((f) => f !== "");

const summary = [];
for (const name of requested.length > 0 ? requested : Object.keys(targets)) {
  const target = only.length > 0 ? { ...targets[name], mutate: only } : targets[name];
  const out = only.length > 0 ? `${name}-${basename(only[0], ".ts")}` : name;
  const sources = target.mutate.filter((p) => !p.startsWith("!")).flatMap((p) => globSync(p, { cwd: root }));
  if (sources.length === 0 || !existsSync(join(root, target.tests))) {
    console.log(`\n== mutation ${name}: no sources yet (${target.mutate[0]}), skipped`);
    summary.push({ name, skipped: true });
    continue;
  }
  console.log(`\n== mutation ${name}: ${target.mutate[0]}`);
  process.env.MUTATION_TESTS = target.tests;
  const stryker = new Stryker({
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    vitest: { configFile: "scripts/vitest.mutation.config.ts", related: false },
    mutate: target.mutate,
    coverageAnalysis: "perTest",
    concurrency,
    timeoutMS: 10_000,
    // One sandbox per run, so runs on different files can go side by side.
    tempDirName: `.tmp/stryker-${process.pid}`,
    cleanTempDir: "always",
    // The sandbox copies the checkout; leave out what tests never read.
    ignorePatterns: [".tools", ".tmp", "**/dist", "coverage", "examples"],
    reporters: ["clear-text", "progress", "html", "json"],
    htmlReporter: { fileName: `.tmp/mutation/${out}/index.html` },
    jsonReporter: { fileName: `.tmp/mutation/${out}/report.json` },
    thresholds: { high: 95, low: 85, break: null },
  });
  const results = await stryker.runMutationTest();
  const count = (...statuses) => results.filter((r) => statuses.includes(r.status)).length;
  const killed = count("Killed", "Timeout");
  const survived = results.filter((r) => r.status === "Survived" || r.status === "NoCoverage");
  const total = killed + survived.length;
  summary.push({ name, killed, total, survived, ignored: count("Ignored") });
}

console.log("\n== mutation summary");
let failed = false;
for (const row of summary) {
  if (row.skipped) {
    console.log(`  ${row.name.padEnd(8)} skipped (no sources)`);
    continue;
  }
  const score = row.total === 0 ? 100 : (100 * row.killed) / row.total;
  console.log(
    `  ${row.name.padEnd(8)} ${row.killed}/${row.total} killed (${score.toFixed(1)} %), ${row.ignored} ignored as equivalent (Stryker disable comments)`,
  );
  for (const m of row.survived) {
    const where = `${m.fileName.replace(`${root}/`, "")}:${m.location.start.line}`;
    console.log(`    survived ${m.mutatorName} at ${where}: ${JSON.stringify(m.replacement ?? "")}`);
  }
  if (row.survived.length > 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
