// examples/azure-blob end to end: the workload reads and writes Azure Blob Storage (Azurite)
// through the token broker (local Entra), and an unapproved image is denied.
import { describeError, run } from "../../examples/azure-blob/src/app.ts";
import { type LocalStack, startLocalStack } from "../../examples/azure-blob/src/local-stack.ts";
import { type DemoContext, DemoFailure } from "./support.ts";
import { waitForStop } from "./wait-for-stop.ts";

/** The running stack, so the watchdog can stop it (Azurite is a child process). */
export let runningAzure: LocalStack | undefined;

export async function demoAzure(ctx: DemoContext): Promise<void> {
  const { step, indent } = ctx;
  step(1, 5, "azure: starting the local stack (emulator, Entra, broker, Azurite)");
  const stack: LocalStack = await startLocalStack({ log: indent("") });
  runningAzure = stack;
  const previousSocket = process.env.CONFSPACE_LAUNCHER_SOCKET;
  try {
    // In Confidential Space the launcher socket is at its standard path; here, the emulator's.
    process.env.CONFSPACE_LAUNCHER_SOCKET = stack.launcherSocket;

    step(2, 5, "azure: running examples/azure-blob as the approved workload");
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

    step(3, 5, "azure: the same app, built from an image the broker's policy does not approve");
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

    step(4, 5, "azure: what the broker saw");
    console.log(
      `  ${stack.brokerRequests()} token requests: ${stack.brokerRequests("ok")} granted, ${stack.brokerRequests("invalid_token")} refused (invalid_token)`,
    );
    console.log("  no token, secret or key was printed: the credential and the broker log metadata only");

    if (ctx.keep) {
      console.log("\nThe stack keeps running (Ctrl-C to stop). Run the example's CLI against it from another shell:\n");
      console.log(`  export NODE_EXTRA_CA_CERTS=${stack.caPath}`);
      console.log(`  export CONFSPACE_LAUNCHER_SOCKET=${stack.launcherSocket}`);
      console.log(`  export CONFSPACE_BROKER_URL=${stack.brokerUrl}`);
      console.log(`  export CONFSPACE_BROKER_AUDIENCE=${stack.audience}`);
      console.log(`  export AZURE_STORAGE_ACCOUNT_URL=${stack.accountUrl}`);
      console.log("  pnpm --filter @confspace-examples/azure-blob start");
      await waitForStop();
    }
  } finally {
    if (previousSocket === undefined) delete process.env.CONFSPACE_LAUNCHER_SOCKET;
    else process.env.CONFSPACE_LAUNCHER_SOCKET = previousSocket;
    step(5, 5, "azure: stopping everything");
    await stack.stop();
    runningAzure = undefined;
    console.log("  stopped: Azurite, broker, local Entra, emulator; temporary files removed");
  }
}
