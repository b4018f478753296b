#!/usr/bin/env node
// `confspace-local up --services azure,aws,gcp,vault [--write-env FILE]`: DEVELOPMENT ONLY.
// Starts the local stack on loopback, prints the app's environment (KEY='value' lines on
// stdout; progress on stderr), optionally writes it to FILE (mode 0600), and runs until
// SIGINT or SIGTERM (or until its parent process exits), then stops everything, removes
// FILE and exits 0. (Not `--env-file`:
// Node 24 reads that flag from anywhere on its command line, the script's arguments included.)
import { rm, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { stopWhenOrphaned } from "@confspace/core/cli";
import { formatEnv } from "./stack/env.js";
import { LOCAL_SERVICES, parseServices } from "./stack/services.js";
import { startLocalStack } from "./stack/stack.js";

const USAGE = `usage: confspace-local up --services ${LOCAL_SERVICES.join(",")}|all [--write-env FILE]

DEVELOPMENT ONLY: local stand-ins on loopback with a throwaway CA; never point production at them.
Prints the app's environment on stdout (KEY='value'); --write-env also writes it (mode 0600).
Runs until SIGINT or SIGTERM (Ctrl-C, or kill <pid>) or until its parent exits, then stops everything and exits 0.`;

function fail(message: string): never {
  process.stderr.write(`confspace-local: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: { services: { type: "string" }, "write-env": { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
}

async function main(argv: string[]): Promise<void> {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) fail(`Node ≥ 22 required (this is ${process.versions.node}).`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    fail((error as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== "up") fail("the only command is `up`.");
  if (parsed.values.services === undefined) fail("--services is required.");
  let services: ReturnType<typeof parseServices>;
  try {
    services = parseServices(parsed.values.services, "--services");
  } catch (error) {
    fail((error as Error).message);
  }
  const envFile = parsed.values["write-env"];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let signalled: string | undefined;
  const stopRequested = new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        signalled = signal;
        resolve();
      });
    }
    // A wrapper (npx, a shell) that is killed does not pass the signal on: when the parent
    // goes away (this process is re-parented), stop as if signalled instead of living on orphaned.
    stopWhenOrphaned(
      () => {
        signalled ??= "parent exited";
        resolve();
      },
      { when: "always" },
    );
  });
  log("confspace-local — DEVELOPMENT ONLY: local stand-ins with a throwaway CA, never for production");
  const stack = await startLocalStack({ services, log });
  try {
    const text = formatEnv(stack.env);
    if (envFile !== undefined) {
      await writeFile(envFile, text, { mode: 0o600 });
      log(`environment written to ${envFile}`);
    }
    if (signalled === undefined) {
      process.stdout.write(text);
      log(`ready: ${services.join(", ")} (pid ${process.pid}); Ctrl-C or kill ${process.pid} to stop`);
      await stopRequested;
    }
  } finally {
    log(`stopping (${signalled ?? "error"})`);
    await stack.stop();
    if (envFile !== undefined) await rm(envFile, { force: true });
    log("stopped; temporary files removed");
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`confspace-local: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
