import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AttestationPolicyError } from "./errors.js";
import { createAttestationVerifier } from "./verifier.js";

// The emulator's checkout bin (what `npx confspace-emulator` runs), started with this Node.
const BIN = join(
  dirname(createRequire(import.meta.url).resolve("@confspace/emulator/package.json")),
  "bin",
  "confspace-emulator.js",
);
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
  }
});

/** Starts the CLI; resolves with its KEY=value lines and the verifier policy it printed on stderr. */
function startCli(args: string[]): Promise<{ env: Record<string, string>; policy: Record<string, unknown> }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: "pipe" });
  children.push(child);
  let stdout = "";
  let stderr = "";
  return new Promise((resolve, reject) => {
    const check = () => {
      const lines = stderr.split("\n");
      const at = lines.findIndex((l) => l.startsWith("verifier policy that accepts it"));
      if (at < 0 || lines[at + 1] === undefined || !stdout.includes("CONFSPACE_PKI_ROOT_FINGERPRINT=")) return;
      const env = Object.fromEntries(
        stdout
          .trim()
          .split("\n")
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
      resolve({ env, policy: JSON.parse(lines[at + 1]!.trim()) });
    };
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      check();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      check();
    });
    child.once("exit", (code) => reject(new Error(`confspace-emulator exited with ${code}: ${stderr}`)));
  });
}

describe("confspace-emulator's printed policy", () => {
  it.each(["default", "debug"])(
    "accepts the token of the %s profile as printed, with no token decoding",
    async (profile) => {
      const { env, policy } = await startCli(["--profile", profile]);
      const token = await readFile(env.CONFSPACE_TOKEN_FILE!, "utf8");
      const options = { issuer: env.CONFSPACE_ATTESTATION_ISSUER!, audience: "https://sts.googleapis.com" };
      const claims = await createAttestationVerifier({ ...options, policy }).verify(token);
      expect(claims.submods.container?.image_digest).toBe((policy.imageDigests as string[])[0]);
      // The pin is real: another digest is refused.
      const other = { ...policy, imageDigests: [`sha256:${"0".repeat(64)}`] };
      await expect(createAttestationVerifier({ ...options, policy: other }).verify(token)).rejects.toBeInstanceOf(
        AttestationPolicyError,
      );
    },
  );
});
