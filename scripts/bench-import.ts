// Cold import cost of every published package, as a user pays it: the built ESM entry
// (dist/index.js, so run `pnpm build` first) imported in a fresh Node.js process, median of
// RUNS processes. `@confspace/*` imports resolve to the sibling packages' dist, as they do
// after `npm install`; third-party ones to node_modules. The timer covers the import only,
// not the process start. Workload-side packages aim at < 30 ms on Node.js 24.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const RUNS = 5;

/** Packages a workload imports; the others (broker, emulator, local, bootstrap) may cost more. */
export const WORKLOAD_PACKAGES = [
  "core",
  "attestation",
  "ekm-tls",
  "azure-credential",
  "aws-credential",
  "gcp-federation",
  "vault-jwt",
];
export const IMPORT_BUDGET_MS = 30;

// Runs in the child: maps `@confspace/x[/sub]` to packages/x/dist, then times one import.
const probe = `
import { registerHooks } from "node:module";
import { pathToFileURL } from "node:url";
const [packagesDir, target] = process.argv.slice(1);
registerHooks({
  resolve(specifier, context, next) {
    const m = /^@confspace\\/([^/]+)(?:\\/(.+))?$/.exec(specifier);
    if (m) return { url: pathToFileURL(packagesDir + "/" + m[1] + "/dist/" + (m[2] ?? "index") + ".js").href, shortCircuit: true };
    return next(specifier, context);
  },
});
const cpu = process.cpuUsage();
const start = performance.now();
await import(target);
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify([performance.now() - start, (used.user + used.system) / 1000]));
`;

export interface ImportCost {
  name: string;
  /** Median wall-clock time of the import. */
  medianMs: number;
  /** Median CPU time (user + system) of the import: steadier than wall time on a busy machine. */
  medianCpuMs: number;
  workload: boolean;
}

/** Median cold import time of each built package, one fresh process per sample. */
export function benchImports(): ImportCost[] {
  const results: ImportCost[] = [];
  for (const dir of readdirSync(join(root, "packages")).sort()) {
    const manifestPath = join(root, "packages", dir, "package.json");
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { name: string; private?: boolean };
    const entry = join(root, "packages", dir, "dist", "index.js");
    if (manifest.private || !existsSync(entry)) continue;
    const samples: number[] = [];
    const cpuSamples: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const out = execFileSync(
        process.execPath,
        ["--input-type=module", "-e", probe, join(root, "packages"), pathToFileURL(entry).href],
        { cwd: root, encoding: "utf8" },
      );
      const [wall, cpu] = JSON.parse(out) as [number, number];
      samples.push(wall);
      cpuSamples.push(cpu);
    }
    results.push({
      name: manifest.name,
      medianMs: median(samples),
      medianCpuMs: median(cpuSamples),
      workload: WORKLOAD_PACKAGES.includes(dir),
    });
  }
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Prints one line per package; workload-side ones over the budget are marked. */
export function printImportCosts(results: ImportCost[]): void {
  console.log(`\ncold import (dist/index.js, fresh Node.js ${process.versions.node} process, median of ${RUNS})`);
  for (const r of results) {
    const mark = r.workload ? (r.medianMs < IMPORT_BUDGET_MS ? "ok" : `over ${IMPORT_BUDGET_MS} ms`) : "";
    console.log(
      `  ${r.name.padEnd(30)} ${r.medianMs.toFixed(1).padStart(7)} ms wall ${r.medianCpuMs.toFixed(1).padStart(7)} ms CPU  ${mark}`,
    );
  }
}

if (import.meta.main) printImportCosts(benchImports());
