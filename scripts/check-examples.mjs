// Part of the install test (scripts/check-install.mjs): every example, copied into an empty
// folder outside this repository, runs its local mode with only published packages. Each
// example's folder (without node_modules) goes to its own directory in the scratch dir, its
// `@confspace/*` `workspace:*` ranges become the packed tarballs, `npm install` installs
// exactly what its package.json lists (its own node_modules, no workspace or shared parent
// to fall back on), then its local mode runs as its README documents it, under a timeout:
// exit code 0 and its success line. The examples run concurrently (they mostly wait on
// short token lifetimes), so the whole check adds about the longest one.
import { spawn } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * One example: its npm script and, for azure-blob, the `confspace-local up` stack its
 * README starts first; `success` must match the output of a good run.
 */
const EXAMPLES = [
  { name: "aws-s3", script: "local", success: /^round 10: put\+get s3:\/\/\S+ ok/m },
  {
    name: "azure-blob",
    script: "start",
    up: ["azure"],
    success: /^blob "[^"]+" read back: "/m,
  },
  { name: "gcp-kms-multiparty", script: "start", success: /^ {2}word counts: the=5 fox=3 dog=2/m },
  { name: "vault-kv", script: "local", success: /^\d+ logins, \d+ renewals .* 0 other refused requests$/m },
  {
    name: "openbao-autounseal",
    script: "local",
    success: /^restarted: unsealed by itself \(seal type transit, sealed: false\), secret read back: true$/m,
  },
  {
    name: "python-bootstrap",
    script: "local",
    success: /secrets in my command line: False[\s\S]*exit code 1; the app did not start/,
  },
];
const TIMEOUT_MS = 120_000;

/** Runs a command; resolves with its exit code and output (killed with its group on timeout). */
function run(command, args, options) {
  return new Promise((done) => {
    const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => {
      output += c;
    });
    child.stderr.on("data", (c) => {
      output += c;
    });
    const timer = setTimeout(() => {
      output += `\n(timed out after ${options.timeout / 1000} s)`;
      process.kill(-child.pid, "SIGKILL");
    }, options.timeout);
    child.once("error", (error) => {
      clearTimeout(timer);
      done({ code: null, output: `${output}\n${error.message}` });
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? signal, output });
    });
  });
}

/** `npx confspace-local up --services … --write-env .env.local`, until the file is written. */
async function up(dir, services, env) {
  const child = spawn("npx", ["confspace-local", "up", "--services", services.join(","), "--write-env", ".env.local"], {
    cwd: dir,
    env,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const file = join(dir, ".env.local");
  const deadline = Date.now() + 60_000;
  while (!(existsSync(file) && readFileSync(file, "utf8").trim() !== "")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
      throw new Error(
        `confspace-local up did not write .env.local: ${stderr.trim().split("\n").slice(-4).join(" | ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // KEY='value' lines, as `set -a; . ./.env.local; set +a` reads them.
  const vars = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line.trim());
    if (m) vars[m[1]] = m[2];
  }
  const stop = () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done(child.exitCode);
      const timer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), 10_000);
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        done(code ?? signal);
      });
      // `kill <pid>` with the pid it prints (npx itself dies of a SIGTERM instead of passing it on).
      const pid = /\(pid (\d+)\)/.exec(stderr)?.[1];
      if (pid) process.kill(Number(pid), "SIGTERM");
      else process.kill(-child.pid, "SIGTERM");
    });
  return { vars, stop };
}

/**
 * @param {object} o
 * @param {string} o.root the repository
 * @param {string} o.scratch the install test's temporary directory (outside the repository)
 * @param {{ tarball: string, manifest: { name: string } }[]} o.packages the packed packages
 * @param {string} o.node Node.js 24, which the examples' npm scripts run on
 * @param {(name: string, failures: string[]) => void} o.check
 */
export async function checkExamples({ root, scratch, packages, node, check }) {
  const tarballs = new Map(packages.map((p) => [p.manifest.name, p.tarball]));
  const env = {
    ...process.env,
    PATH: `${dirname(node)}:${process.env.PATH ?? ""}`,
    npm_config_cache: join(root, ".tmp", "npm-cache"),
    // Outside the repository neither finds the repository's tools by itself.
    BAO_BIN: process.env.BAO_BIN || join(root, ".tools", "bin", "bao"),
    PYTHON: process.env.PYTHON || join(root, ".tools", "venv", "bin", "python"),
  };
  const tail = (text) => text.trim().split("\n").slice(-8).join("\n");

  const one = async (example) => {
    const from = join(root, "examples", example.name);
    const dir = join(scratch, "examples", example.name);
    cpSync(from, dir, { recursive: true, filter: (src) => !src.split("/").includes("node_modules") });
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const failures = [];
    for (const field of ["dependencies", "devDependencies"]) {
      for (const [name, range] of Object.entries(manifest[field] ?? {})) {
        if (!range.startsWith("workspace:")) continue;
        const tarball = tarballs.get(name);
        if (tarball) manifest[field][name] = `file:${tarball}`;
        else failures.push(`${name} (${field}) is not a published package`);
      }
    }
    // npm hoists the packages' own dependencies next to the example's, where an import
    // the example does not list would still resolve: every package its code (tests aside)
    // imports must be in its package.json.
    const listed = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.devDependencies ?? {}),
    ]);
    for (const file of readdirSync(join(dir, "src"), { recursive: true })) {
      if (!/\.[cm]?[jt]s$/.test(file) || /\.test\.[cm]?[jt]s$/.test(file)) continue;
      const text = readFileSync(join(dir, "src", file), "utf8");
      for (const [, spec] of text.matchAll(/(?:from |import\(|import |import\.meta\.resolve\()"([^".][^"]*)"/g)) {
        if (spec.startsWith("node:") || spec.includes("${")) continue;
        const name = spec
          .split("/")
          .slice(0, spec.startsWith("@") ? 2 : 1)
          .join("/");
        if (!listed.has(name)) failures.push(`src/${file} imports ${spec}, which its package.json does not list`);
      }
    }
    if (failures.length > 0) return failures;
    // Not yet on the registry: the published packages' own `@confspace/*` dependencies come
    // from the tarballs too (npm's overrides; what the example may import stays its own list).
    manifest.overrides = Object.fromEntries([...tarballs].map(([name, tarball]) => [name, `file:${tarball}`]));
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
    const install = await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline"], {
      cwd: dir,
      env,
      timeout: TIMEOUT_MS,
    });
    if (install.code !== 0) return [`npm install: exit ${install.code}: ${tail(install.output)}`];

    const stack = example.up ? await up(dir, example.up, env).catch((error) => error) : undefined;
    if (stack instanceof Error) return [stack.message];
    const started = Date.now();
    const result = await run("npm", ["run", "--silent", example.script], {
      cwd: dir,
      env: { ...env, ...stack?.vars },
      timeout: TIMEOUT_MS,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.code !== 0)
      failures.push(`npm run ${example.script}: exit ${result.code} after ${seconds} s: ${tail(result.output)}`);
    else if (!example.success.test(result.output))
      failures.push(`npm run ${example.script}: no line matching ${example.success}: ${tail(result.output)}`);
    if (stack) {
      const code = await stack.stop();
      if (code !== 0) failures.push(`confspace-local up exited ${code} on SIGTERM (want 0)`);
    }
    return failures;
  };

  const outcomes = await Promise.all(EXAMPLES.map((e) => one(e).catch((error) => [String(error?.stack ?? error)])));
  for (const [i, example] of EXAMPLES.entries()) {
    const up = example.up ? " (after confspace-local up)" : "";
    check(`example ${example.name} copied out: npm run ${example.script}${up}`, outcomes[i]);
  }
}
