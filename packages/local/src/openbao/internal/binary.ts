import { accessSync, constants } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is packages/testing/src/openbao/internal/). */
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "..");

/** Which server binary the tests run, and whether it is HashiCorp Vault rather than OpenBao. */
export interface ServerBinary {
  path: string;
  /** Where the path came from: `BAO_BIN`, `VAULT_BIN` or `.tools/bin/bao`. */
  from: string;
  vault: boolean;
}

/**
 * BAO_BIN, then VAULT_BIN, then `<repo>/.tools/bin/bao` (installed by `bash scripts/tools.sh`).
 * Never skips: without an executable it throws an error saying how to get one.
 */
export function findServerBinary(env: NodeJS.ProcessEnv = process.env, root = REPO_ROOT): ServerBinary {
  const candidates: ServerBinary[] = [];
  if (env.BAO_BIN) candidates.push({ path: env.BAO_BIN, from: "BAO_BIN", vault: false });
  if (env.VAULT_BIN) candidates.push({ path: env.VAULT_BIN, from: "VAULT_BIN", vault: true });
  const first = candidates[0];
  if (first !== undefined) {
    if (!isExecutable(first.path)) {
      throw new Error(`${first.from} is set to ${first.path}, which is not an executable OpenBao or Vault binary.`);
    }
    return first;
  }
  const local = join(root, ".tools", "bin", "bao");
  if (!isExecutable(local)) {
    throw new Error(
      `No OpenBao binary: ${local} is missing. Run \`bash scripts/tools.sh\` (installs OpenBao into .tools/), or set BAO_BIN (OpenBao) or VAULT_BIN (HashiCorp Vault).`,
    );
  }
  return { path: local, from: ".tools/bin/bao", vault: false };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
