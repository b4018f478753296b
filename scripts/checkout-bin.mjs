// The CLIs in this repository's checkout (`npx confspace-broker`, `pnpm exec
// confspace-emulator`, …): each package's top-level `bin` is a two-line launcher that calls
// this. It checks engines.node as the published wrapper does (tsup.shared.ts), then runs
// the package's src/cli.ts through tsx, so no build is needed. The packed package's bin is
// dist/cli.js (publishConfig.bin); the launchers are not in the tarball.
import { readFileSync } from "node:fs";

/**
 * @param {string} launcherUrl `import.meta.url` of the package's bin/<command>.js
 * @param {string} command the command's name, for messages
 */
export async function runFromSource(launcherUrl, command) {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", launcherUrl), "utf8"));
  const floor = /^>=(\d+)(?:\.(\d+))?/.exec(manifest.engines?.node ?? "");
  if (floor === null) throw new Error(`${command}: package.json needs engines.node ">=MAJOR[.MINOR.0]"`);
  const [wantMajor, wantMinor] = [Number(floor[1]), Number(floor[2] ?? 0)];
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < wantMajor || (major === wantMajor && minor < wantMinor)) {
    const wanted = wantMinor === 0 ? `${wantMajor}` : `${wantMajor}.${wantMinor}`;
    process.stderr.write(`${command}: Node.js ≥ ${wanted} required (this is v${process.versions.node})\n`);
    process.exitCode = 1;
    return;
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli.ts", launcherUrl).href);
}
