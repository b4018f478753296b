import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBootstrapConfig } from "@confspace/bootstrap";
import { expect, it } from "vitest";
import { runLocal, SECRETS } from "./local.js";

const sha = (value: string) => createHash("sha256").update(value).digest("hex").slice(0, 12);

it("starts the Python app with both collaborators' secrets, and refuses to start an unapproved build", {
  timeout: 60_000,
}, async () => {
  const lines: string[] = [];
  const { approved, unapproved } = await runLocal((line) => lines.push(line));
  expect(approved.code).toBe(0);
  expect(approved.stderr).toBe("");
  expect(approved.stdout).toContain(
    `app: database password: ${SECRETS["db-password"].length} characters, sha256 ${sha(SECRETS["db-password"])}`,
  );
  expect(approved.stdout).toContain(
    `app: API key file api-key: mode 600 in a 700 directory, sha256 ${sha(SECRETS["api-key"])}`,
  );
  expect(approved.stdout).toContain("app: secrets in my command line: False");
  expect(unapproved.code).toBe(1);
  expect(unapproved.stdout).toBe("");
  expect(unapproved.stderr).toMatch(/secret "(db-password|api-key)" \(gcp-kms\) could not be resolved/);
  // No secret anywhere in what was printed.
  const printed = [...lines, approved.stdout, approved.stderr, unapproved.stderr].join("\n");
  for (const value of Object.values(SECRETS)) expect(printed).not.toContain(value);
});

it("ships a bootstrap.yaml that confspace-bootstrap accepts", async () => {
  const config = await loadBootstrapConfig(join(dirname(fileURLToPath(import.meta.url)), "../bootstrap.yaml"));
  expect(config.secrets.map((s) => [s.name, s.scheme, s.target])).toEqual([
    ["db-password", "gcp-kms", { kind: "env", name: "DB_PASSWORD" }],
    ["api-key", "gcp-kms", { kind: "file", name: "api-key" }],
  ]);
});
