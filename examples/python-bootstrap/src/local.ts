// `pnpm --filter @confspace-examples/python-bootstrap local`: the whole start on loopback.
// The Confidential Space emulator stands in for the launcher; a local Google STS and Cloud
// KMS (started by @confspace/local, development only) are configured as two collaborators would configure Google
// Cloud (one provider and one key each, decrypt only for the approved image digest). Each
// collaborator encrypts its secret, then confspace-bootstrap starts app.py with them — and
// refuses to start a build the collaborators have not approved. Nothing here is needed in production.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_PROFILE } from "@confspace/emulator";
import { startLocalStack } from "@confspace/local";

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = resolve(HERE, "..");
const APP = join(EXAMPLE, "app.py");
/** The installed package's `confspace-bootstrap` executable (in this repository, its checkout launcher). */
const BOOTSTRAP = dirname(fileURLToPath(import.meta.resolve("@confspace/bootstrap/package.json")));
const CLI = join(
  BOOTSTRAP,
  (JSON.parse(readFileSync(join(BOOTSTRAP, "package.json"), "utf8")) as { bin: Record<string, string> }).bin[
    "confspace-bootstrap"
  ]!,
);
/** `PYTHON`, else this repository's `.tools/venv/bin/python` (scripts/tools.sh), else `python3`. */
const VENV_PYTHON = resolve(EXAMPLE, "../../.tools/venv/bin/python");
const PYTHON = process.env.PYTHON || (existsSync(VENV_PYTHON) ? VENV_PYTHON : "python3");

export const APPROVED_DIGEST = DEFAULT_PROFILE.submods.container.image_digest;
export const UNAPPROVED_DIGEST = `sha256:${"9".repeat(64)}`;
export const SECRETS = { "db-password": "correct horse battery staple", "api-key": "partner-api-key-7f3a9c" };

function collaborator(index: number, name: string) {
  const pool = `projects/${index}${"1".repeat(11)}/locations/global/workloadIdentityPools/trusted-workload-pool`;
  return {
    name,
    pool,
    audience: `//iam.googleapis.com/${pool}/providers/attestation-verifier`,
    key: `projects/${name}-project/locations/global/keyRings/app/cryptoKeys/k1`,
    owner: `user:owner@${name}.example`,
    ownerToken: `local-owner-token-${index}`,
  };
}

export interface LocalRun {
  /** Exit code and output of the approved build's start. */
  approved: { code: number | null; stdout: string; stderr: string };
  /** The same image at a digest nobody approved. */
  unapproved: { code: number | null; stdout: string; stderr: string };
}

function run(args: string[], env: Record<string, string>) {
  return new Promise<LocalRun["approved"]>((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: EXAMPLE,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c;
    });
    child.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

export async function runLocal(log: (line: string) => void = console.log): Promise<LocalRun> {
  const dir = await mkdtemp(join(tmpdir(), "confspace-python-bootstrap-"));
  const team = collaborator(1, "database-team");
  const partner = collaborator(2, "partner");
  const stack = await startLocalStack({
    services: ["gcp"],
    log,
    gcp: {
      // Each provider trusts the emulator's issuer (Google: https://confidentialcomputing.googleapis.com/).
      providers: [team, partner].map((c) => ({
        audience: c.audience,
        allowedAudiences: ["https://sts.googleapis.com"],
        attributeMapping:
          "google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest",
        attributeCondition:
          "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes",
      })),
      staticTokens: [team, partner].map((c) => ({ token: c.ownerToken, member: c.owner })),
      keys: [team, partner].map((c) => ({
        name: c.key,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: [c.owner] },
          {
            role: "roles/cloudkms.cryptoKeyDecrypter",
            members: [`principalSet://iam.googleapis.com/${c.pool}/attribute.image_digest/${APPROVED_DIGEST}`],
          },
        ],
      })),
    },
  });
  const { emulator } = stack;
  const { sts, kms } = stack.gcp!;
  const stop = async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Each collaborator encrypts its secret with its own key, as `gcloud kms encrypt` would.
    const encrypt = async (c: typeof team, plaintext: string) => {
      const response = await fetch(`${kms.endpoint}/v1/${c.key}:encrypt`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.ownerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ plaintext: Buffer.from(plaintext).toString("base64") }),
      });
      if (!response.ok) throw new Error(`local KMS encrypt failed: ${response.status}`);
      const { ciphertext } = (await response.json()) as { ciphertext: string };
      const file = join(dir, `${c.name}.enc`);
      await writeFile(file, ciphertext);
      log(`${c.name} encrypted its secret with ${c.key}`);
      return file;
    };
    const dbFile = await encrypt(team, SECRETS["db-password"]);
    const apiFile = await encrypt(partner, SECRETS["api-key"]);
    // bootstrap.yaml as in the image, pointed at the local endpoints.
    const config = join(dir, "bootstrap.yaml");
    const local = (c: typeof team) =>
      `  ${c.name}:\n    audience: "${c.audience}"\n    tokenUrl: "${sts.tokenUrl}"\n    kmsEndpoint: "${kms.endpoint}"\n`;
    await writeFile(
      config,
      `collaborators:\n${local(team)}${local(partner)}secrets:\n` +
        `  - { name: db-password, from: gcp-kms, collaborator: database-team, key: "${team.key}", ciphertextFile: "${dbFile}", env: DB_PASSWORD }\n` +
        `  - { name: api-key, from: gcp-kms, collaborator: partner, key: "${partner.key}", ciphertextFile: "${apiFile}", file: api-key }\n`,
    );

    log(
      `— the approved build (${APPROVED_DIGEST.slice(0, 19)}…): confspace-bootstrap --config bootstrap.yaml -- python app.py`,
    );
    const approved = await run(["--config", config, "--", PYTHON, APP], {
      CONFSPACE_TOKEN_FILE: emulator.tokenFile,
      CONFSPACE_LAUNCHER_SOCKET: emulator.socketPath,
    });
    for (const line of approved.stdout.trim().split("\n")) log(`  ${line}`);
    log(`  exit code ${approved.code}`);

    log(`— a build nobody approved (${UNAPPROVED_DIGEST.slice(0, 19)}…)`);
    const tokenFile = join(dir, "unapproved-token");
    await writeFile(
      tokenFile,
      await emulator.mintToken({
        mutateClaims: (claims) => {
          (claims.submods as { container: { image_digest: string } }).container.image_digest = UNAPPROVED_DIGEST;
        },
      }),
    );
    const unapproved = await run(["--config", config, "--", PYTHON, APP], {
      CONFSPACE_TOKEN_FILE: tokenFile,
      CONFSPACE_LAUNCHER_SOCKET: join(dir, "no-launcher.sock"),
    });
    log(`  ${unapproved.stderr.trim()}`);
    log(`  exit code ${unapproved.code}; the app did not start`);
    return { approved, unapproved };
  } finally {
    await stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runLocal();
  process.exitCode = result.approved.code === 0 && result.unapproved.code === 1 ? 0 : 1;
}
