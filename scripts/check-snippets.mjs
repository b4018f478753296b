// README snippets gate: every ```ts block of every README (the root, packages/*, examples/*)
// must typecheck as written, against the workspace packages' sources. Each block becomes its
// own module in `.tmp/snippets/<README's folder>/`; `@confspace/*` maps to the sources through
// `paths`, and that folder gets a node_modules of links to every other package the blocks
// import, found first where the README's own package would find it, then anywhere in the
// workspace (a reader installs what a snippet imports). One tsc run checks all of them. Blocks
// that are not TypeScript use another fence (```sh, ```yaml, ```json). Writes one result per
// README with at least one ```ts block to .tmp/snippet-gates.json.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const work = join(root, ".tmp", "snippets");
const fence = /^(\s*)```(?:ts|typescript)(?:\s.*)?$/; // an info string may follow: ```ts title="x"

function readmes() {
  const found = [join(root, "README.md")];
  for (const top of ["packages", "examples"]) {
    for (const name of readdirSync(join(root, top)).sort()) {
      const file = join(root, top, name, "README.md");
      if (existsSync(file)) found.push(file);
    }
  }
  return found;
}

/** The ```ts blocks of one Markdown file: first line number (1-based) of the code, and the code. */
function blocks(markdown) {
  const lines = markdown.split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const code = [];
    let j = i + 1;
    while (j < lines.length && lines[j].trim() !== "```") code.push(lines[j++].slice(indent));
    out.push({ line: i + 2, code: `${code.join("\n")}\n` });
    i = j;
  }
  return out;
}

/** `paths` for every workspace package's export subpaths, pointing at the sources the workspace exports. */
function workspacePaths() {
  const paths = {};
  const dir = join(root, "packages");
  for (const name of readdirSync(dir)) {
    const manifestPath = join(dir, name, "package.json");
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target !== "string" || !target.endsWith(".ts")) continue;
      paths[`${manifest.name}${subpath.slice(1)}`] = [relative(work, join(dir, name, target))];
    }
  }
  return paths;
}

/** Bare package names a block imports, other than Node's and the workspace's own. */
function thirdParty(code) {
  const names = new Set();
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"'./][^"']*)["']/g)) {
    const specifier = m[1];
    if (specifier.startsWith("node:") || specifier.startsWith("@confspace/")) continue;
    const parts = specifier.split("/");
    names.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
  }
  return names;
}

/** Where a package is installed: the README's own folder first, then the root, then any workspace package. */
function locate(name, readmeDir) {
  const candidates = [readmeDir, root];
  for (const top of ["packages", "examples"])
    for (const dir of readdirSync(join(root, top)).sort()) candidates.push(join(root, top, dir));
  for (const dir of candidates) {
    const found = join(dir, "node_modules", name);
    if (existsSync(join(found, "package.json"))) return realpathSync(found);
  }
  return undefined;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const snippets = new Map(); // file written -> { readme, line }
const perReadme = new Map(); // readme -> failures
for (const readme of readmes()) {
  const found = blocks(readFileSync(readme, "utf8"));
  if (found.length === 0) continue;
  const name = relative(root, readme);
  const outDir = join(work, relative(root, dirname(readme)) || "root");
  mkdirSync(outDir, { recursive: true });
  perReadme.set(name, []);
  for (const block of found) {
    const file = join(outDir, `README.${block.line}.ts`);
    writeFileSync(file, block.code);
    snippets.set(file, { readme: name, line: block.line });
  }
  for (const pkg of new Set(found.flatMap((block) => [...thirdParty(block.code)]))) {
    const target = locate(pkg, dirname(readme));
    if (!target) continue; // tsc reports the import it cannot resolve, at its line
    mkdirSync(dirname(join(outDir, "node_modules", pkg)), { recursive: true });
    symlinkSync(target, join(outDir, "node_modules", pkg), "dir");
  }
}

writeFileSync(
  join(work, "tsconfig.json"),
  JSON.stringify(
    {
      extends: relative(work, join(root, "tsconfig.base.json")),
      compilerOptions: { noEmit: true, paths: workspacePaths() },
      files: [...snippets.keys()].map((file) => relative(work, file)),
    },
    null,
    2,
  ),
);
const tsc = spawnSync(
  join(root, "node_modules", ".bin", "tsc"),
  ["-p", join(work, "tsconfig.json"), "--pretty", "false"],
  {
    cwd: root,
    encoding: "utf8",
  },
);
if (tsc.error) throw tsc.error;

// `path(line,col): error TSnnnn: message`, continuation lines indented.
const elsewhere = [];
let last;
for (const raw of `${tsc.stdout}${tsc.stderr}`.split("\n")) {
  const m = /^(.+?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(raw);
  if (!m) {
    if (raw.trim() && last) last.push(raw);
    continue;
  }
  const snippet = snippets.get(resolve(root, m[1]));
  const entry = [];
  if (snippet) {
    entry.push(`${snippet.readme}:${snippet.line + Number(m[2]) - 1}:${m[3]} ${m[4]}`);
    perReadme.get(snippet.readme).push(entry);
  } else {
    entry.push(`${m[1]}(${m[2]},${m[3]}): ${m[4]}`);
    elsewhere.push(entry);
  }
  last = entry;
}
if (tsc.status !== 0 && elsewhere.length === 0 && [...perReadme.values()].every((f) => f.length === 0)) {
  // tsc failed without a diagnostic we could place (a bad option, a crash): fail every README.
  for (const failures of perReadme.values()) failures.push([`tsc exited ${tsc.status}: ${tsc.stdout}${tsc.stderr}`]);
}

const results = [];
for (const [readme, failures] of perReadme) {
  const count = [...snippets.values()].filter((s) => s.readme === readme).length;
  failures.sort((a, b) => a[0].localeCompare(b[0], "en", { numeric: true }));
  results.push({ name: readme, ok: failures.length === 0, failures: failures.map((f) => f.join("\n")) });
  console.log(`${failures.length === 0 ? "✓" : "✗"} ${readme}: ${count} ts block${count === 1 ? "" : "s"}`);
  for (const f of failures) console.log(`    ${f.join("\n    ")}`);
}
if (elsewhere.length > 0) {
  // Errors in the packages' own sources are the typecheck step's to report; listed, not counted here.
  console.log(`(${elsewhere.length} errors outside the snippets, in sources they import; see the typecheck step)`);
}
mkdirSync(join(root, ".tmp"), { recursive: true });
writeFileSync(join(root, ".tmp", "snippet-gates.json"), JSON.stringify(results, null, 2));
const failed = results.filter((r) => !r.ok).length;
console.log(`README snippets: ${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
