#!/usr/bin/env node
// confspace-emulator: runs the emulator until SIGINT/SIGTERM and prints where to find
// it as KEY=value lines (`eval "$(confspace-emulator … &)"` or a dotenv file).
import { jsonLogger } from "@confspace/core";
import { startEmulator } from "./emulator.js";
import {
  ENV_ATTESTATION_ISSUER,
  ENV_ATTESTATION_JWKS_URI,
  ENV_LAUNCHER_SOCKET,
  ENV_PKI_ROOT_FINGERPRINT,
  ENV_TOKEN_FILE,
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
    envLine(ENV_LAUNCHER_SOCKET, emulator.socketPath),
    ...(command.options.writeTokenFile === false ? [] : [envLine(ENV_TOKEN_FILE, emulator.tokenFile)]),
    envLine(ENV_ATTESTATION_ISSUER, emulator.issuer),
    envLine(ENV_ATTESTATION_JWKS_URI, emulator.jwksUri),
    envLine(ENV_PKI_ROOT_FINGERPRINT, emulator.pkiRootFingerprint),
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
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

main().catch((error: unknown) => {
  process.stderr.write(`confspace-emulator: ${describe(error)}\n`);
  process.exitCode = error instanceof EmulatorOptionError ? 2 : 1;
});
