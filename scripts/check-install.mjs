// Install test for the published packages, as a new user gets them: pack every package the
// way `pnpm release` publishes it, install all tarballs with npm into a scratch app in the
// system temp dir (outside this repository, so nothing resolves to the workspace), then on
// Node.js 22 and 24 import every export path as ESM and as CJS and run every executable's
// --help; on the machine's older Node.js each executable must refuse with "Node.js ≥ 22…
// required" and exit 1; then every example, copied into an empty folder, runs its local mode
// with only those packages (scripts/check-examples.mjs). Needs `pnpm build` and `scripts/tools.sh` (Node.js 22) first.
// One result per check in .tmp/install-checks.json, summed up by scripts/test.mjs.
import { execFileSync, spawnSync } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { checkExamples } from "./check-examples.mjs";

const root = resolve(import.meta.dirname, "..");
const results = [];
const check = (name, failures) => {
  results.push({ name, ok: failures.length === 0, failures });
  console.log(`${failures.length === 0 ? "✓" : "✗"} ${name}`);
  for (const f of failures) console.log(`    ${String(f).replaceAll("\n", "\n    ")}`);
};
const tail = (text) => text.trim().split("\n").slice(-6).join("\n");

const nodes = {
  22: join(root, ".tools", "node22", "node_modules", "node", "bin", "node"),
  24: join(root, "node_modules", "node", "bin", "node"),
};
function version(bin) {
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}
for (const [major, bin] of Object.entries(nodes)) {
  const v = version(bin);
  check(
    `node ${major} at ${bin}`,
    v?.startsWith(`v${major}.`) ? [] : [`found ${v ?? "nothing"}: run scripts/tools.sh`],
  );
}
// The machine's own older Node.js (the executables must refuse it clearly).
const oldNode = (process.env.PATH ?? "")
  .split(delimiter)
  .map((dir) => join(dir, "node"))
  .find((bin) => {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return false;
    }
    return Number(version(bin)?.slice(1).split(".")[0]) < 22;
  });
check("an older Node.js on PATH", oldNode ? [] : ["none found (the executables' version check needs one)"]);

const published = readdirSync(join(root, "packages"))
  .sort()
  .map((dir) => join(root, "packages", dir))
  .filter((dir) => existsSync(join(dir, "package.json")))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
  .filter(({ manifest }) => !manifest.private);

const scratch = mkdtempSync(join(tmpdir(), "confspace-install-"));
try {
  const tarballs = join(scratch, "tarballs");
  const app = join(scratch, "app");
  mkdirSync(app, { recursive: true });
  const packages = [];
  for (const { dir, manifest } of published) {
    const failures = [];
    const out = spawnSync("pnpm", ["pack", "--pack-destination", tarballs], { cwd: dir, encoding: "utf8" });
    const tarball = out.stdout
      ?.trim()
      .split("\n")
      .filter((l) => l.endsWith(".tgz"))
      .pop();
    if (out.status !== 0 || !tarball) failures.push(`pnpm pack failed: ${tail(out.stderr + out.stdout)}`);
    else {
      const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
      for (const required of ["package/LICENSE", "package/README.md", "package/package.json"])
        if (!files.includes(required)) failures.push(`${required.slice(8)} missing from the tarball`);
      const packed = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }));
      const text = JSON.stringify(packed);
      if (text.includes('"workspace:')) failures.push("a workspace: range was left in package.json");
      if (text.includes("./src/")) failures.push("package.json points at ./src (publishConfig not applied)");
      for (const field of ["repository", "homepage", "bugs"]) if (!packed[field]) failures.push(`no ${field}`);
      // npm renders the README without the repository around it: a relative link is dead there.
      if (files.includes("package/README.md")) {
        const readme = execFileSync("tar", ["-xzOf", tarball, "package/README.md"], { encoding: "utf8" });
        for (const [link] of readme.matchAll(/\]\((?!https?:|#|mailto:)[^)\s]+\)/g))
          failures.push(`README link ${link} is relative: make it absolute (https://github.com/…)`);
      }
      packages.push({ tarball, manifest: packed });
    }
    check(`tarball ${manifest.name}`, failures);
  }

  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", private: true }));
  const install = spawnSync(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--prefer-offline",
      "--cache",
      join(root, ".tmp", "npm-cache"),
      ...packages.map((p) => p.tarball),
    ],
    { cwd: app, encoding: "utf8" },
  );
  check(`npm install of ${packages.length} tarballs`, install.status === 0 ? [] : [tail(install.stderr)]);

  // Every export path, once per module system and Node.js version.
  writeFileSync(
    join(app, "probe.mjs"),
    `import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const [mode, ...specifiers] = process.argv.slice(2);
const out = {};
for (const s of specifiers) {
  try {
    const ns = mode === "esm" ? await import(s) : require(s);
    out[s] = Object.keys(ns).filter((k) => k !== "default" && k !== "module.exports").length > 0 ? "" : "no exports";
  } catch (error) {
    out[s] = String(error?.stack ?? error).split("\\n").slice(0, 3).join(" | ");
  }
}
process.stdout.write(JSON.stringify(out));
`,
  );
  const specifiers = (manifest) =>
    Object.keys(manifest.exports ?? { ".": null })
      .filter((key) => key !== "./package.json")
      .map((key) => manifest.name + key.slice(1));
  const all = packages.flatMap((p) => specifiers(p.manifest));
  for (const [major, bin] of Object.entries(nodes)) {
    for (const mode of ["esm", "cjs"]) {
      const run = spawnSync(bin, ["probe.mjs", mode, ...all], { cwd: app, encoding: "utf8" });
      let seen = {};
      try {
        seen = JSON.parse(run.stdout);
      } catch {}
      for (const p of packages) {
        const failures = specifiers(p.manifest).flatMap((s) =>
          seen[s] === "" ? [] : [`${s}: ${seen[s] ?? `probe failed: ${tail(run.stderr)}`}`],
        );
        check(`${mode.toUpperCase()} import ${p.manifest.name} on Node ${major}`, failures);
      }
    }
  }

  // The workload-side packages keep their cold import small by loading the heavy
  // dependencies on first use: importing one (CJS, where require.cache shows every module
  // loaded) must load none of them.
  const HEAVY = ["undici", "@aws-sdk/client-sts", "@azure/identity", "google-auth-library"];
  const LAZY = [
    "core",
    "policy",
    "attestation",
    "ekm-tls",
    "azure-credential",
    "aws-credential",
    "gcp-federation",
    "vault-jwt",
  ];
  for (const short of LAZY) {
    const name = `@confspace/${short}`;
    const run = spawnSync(
      nodes[24],
      ["-e", `require(${JSON.stringify(name)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`],
      { cwd: app, encoding: "utf8" },
    );
    let loaded = [];
    try {
      loaded = JSON.parse(run.stdout);
    } catch {}
    const heavy = HEAVY.filter((dep) => loaded.some((path) => path.includes(`/node_modules/${dep}/`)));
    check(
      `importing ${name} loads none of ${HEAVY.join(", ")}`,
      run.status !== 0
        ? [`exit ${run.status ?? run.signal}: ${tail(run.stderr)}`]
        : heavy.map((dep) => `${dep} was loaded`),
    );
  }

  // Every executable: --help on Node.js 22 and 24, a clear refusal on the older one.
  for (const p of packages) {
    for (const name of Object.keys(p.manifest.bin ?? {})) {
      const bin = join(app, "node_modules", ".bin", name);
      for (const [major, node] of Object.entries(nodes)) {
        const run = spawnSync(node, [bin, "--help"], { cwd: app, encoding: "utf8", timeout: 60_000 });
        check(
          `${name} --help on Node ${major}`,
          run.status === 0 && /^usage/i.test(run.stdout)
            ? []
            : [`exit ${run.status ?? run.signal}: ${tail(run.stderr)}`],
        );
      }
      if (oldNode) {
        const run = spawnSync(oldNode, [bin, "--help"], { cwd: app, encoding: "utf8", timeout: 60_000 });
        const wanted = new RegExp(`^${name}: Node\\.js ≥ 22(\\.\\d+)? required \\(this is v\\d+\\.\\d+\\.\\d+\\)\\n$`);
        check(
          `${name} refuses Node ${version(oldNode)}`,
          run.status === 1 && wanted.test(run.stderr) && run.stdout === ""
            ? []
            : [`exit ${run.status}, stderr: ${tail(run.stderr)}`],
        );
      }
    }
  }

  // Every example copied out of the repository runs its local mode (scripts/check-examples.mjs).
  await checkExamples({ root, scratch, packages, node: nodes[24], check });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

mkdirSync(join(root, ".tmp"), { recursive: true });
writeFileSync(join(root, ".tmp", "install-checks.json"), JSON.stringify(results, null, 2));
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
