#!/usr/bin/env node
// confspace-policy: render a WorkloadPolicy for a relying party, or explain why a
// configuration admits or refuses a token. See the README.
import { runCli } from "./internal/cli-commands.js";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
