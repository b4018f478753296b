// `prepack` of every published package (pnpm runs it in the package folder before it packs
// or publishes). It refuses npm: `npm pack`/`npm publish` in a package folder would ship the
// development `exports` (TypeScript sources) and `workspace:*` dependencies, because only pnpm
// applies `publishConfig` and rewrites workspace ranges. Then it copies the repository's
// LICENSE into the package folder (git-ignored there), so every tarball carries it.
import { copyFileSync } from "node:fs";
import { join } from "node:path";

const agent = process.env.npm_config_user_agent ?? "";
if (!agent.startsWith("pnpm/")) {
  console.error(
    `${process.env.npm_package_name ?? "this package"}: pack and publish with pnpm ("pnpm release", or "pnpm pack" in this folder); npm would ship the TypeScript sources and workspace:* dependencies`,
  );
  process.exit(1);
}
copyFileSync(join(import.meta.dirname, "..", "LICENSE"), join(process.cwd(), "LICENSE"));
