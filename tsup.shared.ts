// The one build configuration every publishable package uses. Packages call
// `definePackageBuild()` from their own tsup.config.ts, so swapping the bundler
// (tsup is no longer maintained upstream) means changing this file only.
import { defineConfig, type Options } from "tsup";

export interface PackageBuildOptions {
  /** Entry points, keyed by output name (`index`, `verify`, `cli`…). */
  entry: Record<string, string>;
  /** Entries that are executables: built as ESM only, with a shebang kept. */
  bin?: string[];
}

export function definePackageBuild(options: PackageBuildOptions) {
  const bins = new Set(options.bin ?? []);
  const libEntries = Object.fromEntries(Object.entries(options.entry).filter(([name]) => !bins.has(name)));
  const binEntries = Object.fromEntries(Object.entries(options.entry).filter(([name]) => bins.has(name)));
  const common: Options = {
    platform: "node",
    target: "node22",
    sourcemap: false,
    treeshake: true,
    splitting: true,
    // Workspace packages point `exports` at their TypeScript sources for tests;
    // they must stay external so each package ships only its own code.
    skipNodeModulesBundle: true,
  };
  const configs: Options[] = [{ ...common, entry: libEntries, format: ["esm", "cjs"], dts: true, clean: true }];
  if (Object.keys(binEntries).length > 0) {
    configs.push({ ...common, entry: binEntries, format: ["esm"], dts: false, clean: false });
  }
  return defineConfig(configs);
}
