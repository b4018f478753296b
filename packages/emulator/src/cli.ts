#!/usr/bin/env node
// confspace-emulator: runs the emulator until SIGINT/SIGTERM and prints where to find
// it as KEY=value lines (`eval "$(confspace-emulator … &)"` or a dotenv file).
import { jsonLogger } from "@confspace/core";
import { stopWhenOrphaned } from "@confspace/core/cli";
import { startEmulator } from "./emulator.js";
import {
  ATTESTATION_ISSUER_ENV,
  ATTESTATION_JWKS_URI_ENV,
  LAUNCHER_SOCKET_ENV,
  PKI_ROOT_FINGERPRINT_ENV,
  TOKEN_FILE_ENV,
} from "./env.js";
import { EmulatorOptionError } from "./errors.js";
import { envLine, parseCliArgs, USAGE } from "./internal/cli-args.js";
import { identitySummary } from "./internal/identity-summary.js";

async function main(): Promise<void> {
  const command = await parseCliArgs(process.argv.slice(2));
  if (command.help) {
    process.stdout.write(USAGE);
    return;
  }
  const logger = jsonLogger({ level: command.verbose ? "debug" : "warn", base: { service: "confspace-emulator" } });
  const emulator = await startEmulator({ ...command.options, logger });
  const lines = [
    envLine(LAUNCHER_SOCKET_ENV, emulator.socketPath),
    ...(command.options.writeTokenFile === false ? [] : [envLine(TOKEN_FILE_ENV, emulator.tokenFile)]),
    envLine(ATTESTATION_ISSUER_ENV, emulator.issuer),
    envLine(ATTESTATION_JWKS_URI_ENV, emulator.jwksUri),
    envLine(PKI_ROOT_FINGERPRINT_ENV, emulator.pkiRootFingerprint),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  // For people, on stderr: stdout stays KEY=value lines for eval and dotenv files.
  process.stderr.write(identitySummary(emulator.claims()));

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`confspace-emulator: ${signal}, stopping\n`);
    emulator.stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        process.stderr.write(`confspace-emulator: cleanup failed: ${describe(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  // `on`, not `once`: Ctrl-C reaches both this process and a wrapper (pnpm, npx) that may
  // forward it again; a second signal must not kill the process halfway through cleanup.
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  // Under npx, a SIGTERM to npx never arrives here: stop as if it had, once npx is gone.
  stopWhenOrphaned(() => process.kill(process.pid, "SIGTERM"));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

main().catch((error: unknown) => {
  process.stderr.write(`confspace-emulator: ${describe(error)}\n`);
  process.exitCode = error instanceof EmulatorOptionError ? 2 : 1;
});
