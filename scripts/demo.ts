// `pnpm demo`: a Confidential Space workload reads and writes Azure Blob Storage through
// the confspace token broker, entirely on this machine. Starts the emulator, a local
// Entra endpoint, the broker (with a generated policy) and Azurite on loopback, runs
// examples/azure-blob end to end, shows an unapproved image being denied, stops
// everything. Exit code 0 when every step did what it should, 1 otherwise.
//
//   pnpm demo            run and exit
//   pnpm demo --keep     leave the stack running and print how to run the example CLI against it
import { describeError, run } from "../examples/azure-blob/src/app.ts";
import { type LocalStack, startLocalStack } from "../examples/azure-blob/src/local-stack.ts";

const DEADLINE_MS = 55_000;
const keep = process.argv.includes("--keep");
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

function step(n: number, total: number, title: string) {
  console.log(`\n[${n}/${total}] ${title}  (${elapsed()})`);
}
const indent = (prefix: string) => (line: string) => console.log(`  ${prefix}${line}`);

class DemoFailure extends Error {}

/** The running stack, so the watchdog can stop it (Azurite is a child process). */
let running: LocalStack | undefined;

async function main(): Promise<void> {
  console.log("confspace demo — a Confidential Space workload using Azure Blob Storage through the token broker");
  console.log("Everything runs on loopback; the emulator stands in for Google, Azurite for Azure Storage.");

  step(1, 5, "starting the local stack");
  const stack: LocalStack = await startLocalStack({ log: indent("") });
  running = stack;
  try {
    // In Confidential Space the launcher socket is at its standard path; here, the emulator's.
    process.env.CONFSPACE_LAUNCHER_SOCKET = stack.launcherSocket;

    step(2, 5, "running examples/azure-blob as the approved workload");
    const before = stack.brokerRequests();
    const result = await run({
      brokerUrl: stack.brokerUrl,
      audience: stack.audience,
      brokerCa: stack.caPem,
      accountUrl: stack.accountUrl,
      container: "confspace-demo",
      log: indent("app │ "),
    });
    const calls = stack.brokerRequests() - before;
    console.log(
      `  ✓ blob ${result.container}/${result.blobName} written, listed and read back; one broker call served every storage request (${calls})`,
    );
    if (calls !== 1 || stack.brokerRequests("ok") !== 1) {
      throw new DemoFailure(`expected exactly one successful broker call, saw ${calls}`);
    }

    step(3, 5, "the same app, built from an image the broker's policy does not approve");
    console.log(
      `  image digest ${stack.unapprovedDigest.slice(0, 19)}… (the policy lists only ${stack.imageDigest.slice(0, 19)}…)`,
    );
    const credential = stack.unapprovedCredential();
    let denied: unknown;
    try {
      await run({
        brokerUrl: stack.brokerUrl,
        audience: stack.audience,
        accountUrl: stack.accountUrl,
        container: "confspace-demo",
        credential,
        log: indent("app │ "),
      });
    } catch (error) {
      denied = error;
    } finally {
      credential.dispose();
    }
    const { code, check } = (denied ?? {}) as { code?: string; check?: string };
    if (code !== "ERR_BROKER_DENIED" || check !== "image_digest") {
      throw new DemoFailure(`the unapproved image was not denied as expected: ${describeError(denied)}`);
    }
    console.log(`  ✓ denied: ${describeError(denied)}`);

    step(4, 5, "what the broker saw");
    console.log(
      `  ${stack.brokerRequests()} token requests: ${stack.brokerRequests("ok")} granted, ${stack.brokerRequests("invalid_token")} refused (invalid_token)`,
    );
    console.log("  no token, secret or key was printed: the credential and the broker log metadata only");

    if (keep) {
      console.log("\nThe stack keeps running (Ctrl-C to stop). Run the example's CLI against it from another shell:\n");
      console.log(`  export NODE_EXTRA_CA_CERTS=${stack.caPath}`);
      console.log(`  export CONFSPACE_LAUNCHER_SOCKET=${stack.launcherSocket}`);
      console.log(`  export CONFSPACE_BROKER_URL=${stack.brokerUrl}`);
      console.log(`  export CONFSPACE_BROKER_AUDIENCE=${stack.audience}`);
      console.log(`  export AZURE_STORAGE_ACCOUNT_URL=${stack.accountUrl}`);
      console.log("  pnpm --filter @confspace-examples/azure-blob start");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
    }
  } finally {
    step(5, 5, "stopping everything");
    await stack.stop();
    console.log("  stopped: Azurite, broker, local Entra, emulator; temporary files removed");
  }
}

const watchdog = keep
  ? undefined
  : setTimeout(() => {
      console.error(`\ndemo FAILED: not finished within ${DEADLINE_MS / 1000} s`);
      const exit = () => process.exit(1);
      setTimeout(exit, 3_000).unref();
      void (running?.stop() ?? Promise.resolve()).finally(exit);
    }, DEADLINE_MS);
watchdog?.unref();

try {
  await main();
  console.log(`\ndemo OK in ${elapsed()}`);
  process.exitCode = 0;
} catch (error) {
  console.error(
    `\ndemo FAILED after ${elapsed()}: ${error instanceof DemoFailure ? error.message : describeError(error)}`,
  );
  process.exitCode = 1;
} finally {
  if (watchdog) clearTimeout(watchdog);
}
