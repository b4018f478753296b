// `pnpm demo [azure|aws|gcp|vault|openbao|all]`: each example end to end, entirely on this machine,
// against the development stack of @confspace/local (emulator, broker, local cloud
// endpoints, real OpenBao). Default `all`, one after the other. Each prints its steps.
// Exit code 0 only when every step of every scenario did what it should, 1 otherwise
// (2 for a bad argument).
//
//   pnpm demo [scenario]         run and exit
//   pnpm demo azure --keep       leave the Azure stack running until Ctrl-C, and print how to run the example CLI against it
import { demoAws } from "./demo/aws.ts";
import { demoAzure, runningAzure } from "./demo/azure.ts";
import { demoGcp } from "./demo/gcp.ts";
import { demoOpenBao } from "./demo/openbao.ts";
import { type DemoContext, DemoFailure } from "./demo/support.ts";
import { demoVault } from "./demo/vault.ts";

const SCENARIOS = { azure: demoAzure, aws: demoAws, gcp: demoGcp, vault: demoVault, openbao: demoOpenBao } as const;
type Scenario = keyof typeof SCENARIOS;
const DEADLINE_MS = 55_000;

const args = process.argv.slice(2);
const keep = args.includes("--keep");
const positional = args.filter((a) => a !== "--keep");
const unknownFlag = positional.find((a) => a.startsWith("-"));
const choice = positional[0] ?? "all";
if (unknownFlag !== undefined || positional.length > 1 || !(choice === "all" || choice in SCENARIOS)) {
  console.error(`usage: pnpm demo [${Object.keys(SCENARIOS).join("|")}|all] [--keep]`);
  process.exit(2);
}
if (keep && choice !== "azure") {
  console.error("--keep keeps the Azure stack running: use `pnpm demo azure --keep`");
  process.exit(2);
}
const chosen: Scenario[] = choice === "all" ? (Object.keys(SCENARIOS) as Scenario[]) : [choice as Scenario];

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const ctx: DemoContext = {
  keep,
  step: (n, total, title) => console.log(`\n[${n}/${total}] ${title}  (${elapsed()})`),
  indent: (prefix) => (line) => console.log(`  ${prefix}${line}`),
};

const watchdog = keep
  ? undefined
  : setTimeout(() => {
      console.error(`\ndemo FAILED: not finished within ${DEADLINE_MS / 1000} s`);
      const exit = () => process.exit(1);
      setTimeout(exit, 3_000).unref();
      void (runningAzure?.stop() ?? Promise.resolve()).finally(exit);
    }, DEADLINE_MS);
watchdog?.unref();

console.log(`confspace demo — ${chosen.join(", ")}: the examples as Confidential Space workloads, all on loopback`);
console.log(
  "The emulator stands in for Google's launcher and attestation; @confspace/local (development only) for the clouds.",
);
const results: Array<[Scenario, string | undefined]> = [];
for (const name of chosen) {
  console.log(`\n=== ${name}`);
  try {
    await SCENARIOS[name](ctx);
    results.push([name, undefined]);
  } catch (error) {
    const message = error instanceof DemoFailure || error instanceof Error ? error.message : String(error);
    console.error(`  ✗ ${name} FAILED: ${message}`);
    results.push([name, message]);
  }
}
if (watchdog) clearTimeout(watchdog);
const failed = results.filter(([, message]) => message !== undefined);
console.log(`\n${results.map(([name, message]) => `${message === undefined ? "✓" : "✗"} ${name}`).join("  ")}`);
if (failed.length === 0) console.log(`demo OK in ${elapsed()}`);
else console.error(`demo FAILED after ${elapsed()}: ${failed.map(([name]) => name).join(", ")}`);
process.exitCode = failed.length === 0 ? 0 : 1;
