import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FORBIDDEN_KEY, type GoogleStack, KEY, PROVIDER, startGoogleStack } from "../test/google-stack.js";
import { killAll, PYTHON, recorded, startCli, until } from "../test/processes.js";

// The app is Python: nothing here depends on the started program being Node.
const DB_PASSWORD = "s3cr3t-db-password-from-kms";
const API_KEY = "api-key-0123456789-from-kms";
const REPORT = `
import json, os, stat, sys
d = os.environ.get("CONFSPACE_SECRETS_DIR")
f = os.path.join(d, "api-key")
print(json.dumps({
  "db": os.environ.get("DB_PASSWORD"),
  "file": open(f).read(),
  "fileMode": stat.S_IMODE(os.stat(f).st_mode),
  "dirMode": stat.S_IMODE(os.stat(d).st_mode),
  "dir": d,
  "args": sys.argv[1:],
  "parentCmdline": open("/proc/%d/cmdline" % os.getppid(), "rb").read().decode(),
  "ownCmdline": open("/proc/self/cmdline", "rb").read().decode(),
}))
`;

let google: GoogleStack;
/** KMS decrypt calls, in the local KMS's request log (old or LocalServer shape). */
const decrypts = () =>
  recorded<{ method: string; path?: string; status: number }>(google.kms).filter(
    (r) => r.method === "decrypt" || String(r.path).endsWith(":decrypt"),
  );
let dir: string;

beforeAll(async () => {
  google = await startGoogleStack();
  dir = await mkdtemp(join(tmpdir(), "confspace-bootstrap-test-"));
});
afterAll(async () => {
  await google?.stop();
  await rm(dir, { recursive: true, force: true });
});
afterEach(killAll);

async function config(secrets: unknown[], extra = ""): Promise<string> {
  const path = join(dir, `bootstrap-${Math.random().toString(36).slice(2)}.yaml`);
  const yaml = [
    "collaborators:",
    "  alice:",
    `    audience: "${PROVIDER}"`,
    `    tokenUrl: "${google.sts.tokenUrl}"`,
    `    kmsEndpoint: "${google.kms.endpoint}"`,
    `secrets: ${JSON.stringify(secrets)}`,
    extra,
  ].join("\n");
  await writeFile(path, yaml);
  return path;
}

async function twoSecrets(): Promise<string> {
  return config([
    {
      name: "db",
      from: "gcp-kms",
      collaborator: "alice",
      key: KEY,
      ciphertext: await google.encrypt(DB_PASSWORD),
      env: "DB_PASSWORD",
    },
    {
      name: "api",
      from: "gcp-kms",
      collaborator: "alice",
      key: KEY,
      ciphertext: await google.encrypt(API_KEY, KEY, "app-v1"),
      additionalAuthenticatedData: "app-v1",
      file: "api-key",
    },
  ]);
}

describe("confspace-bootstrap --config FILE -- COMMAND", () => {
  it("decrypts KMS ciphertexts with the collaborator's federated credential into an env var and a 0600 file in a 0700 tmpfs directory, runs the app, then removes the directory", async () => {
    const run = startCli(["--config", await twoSecrets(), "--", PYTHON, "-c", REPORT, "one", "two"], google.env());
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(run.stdout());
    expect(report).toMatchObject({
      db: DB_PASSWORD,
      file: API_KEY,
      fileMode: 0o600,
      dirMode: 0o700,
      args: ["one", "two"],
    });
    expect(report.dir.startsWith("/dev/shm/confspace-bootstrap-")).toBe(true);
    expect(existsSync(report.dir)).toBe(false);
    // Neither the bootstrap's nor the app's command line carries a secret.
    for (const cmdline of [report.parentCmdline, report.ownCmdline]) {
      expect(cmdline).not.toContain(DB_PASSWORD);
      expect(cmdline).not.toContain(API_KEY);
    }
    expect(report.parentCmdline).toContain("--config");
    expect(decrypts().filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(2);
  });

  it("stops the start when a secret cannot be decrypted: exit 1, the message names the secret, the app never runs", async () => {
    const marker = join(dir, "app-ran");
    const path = await config([
      {
        name: "db",
        from: "gcp-kms",
        collaborator: "alice",
        key: KEY,
        ciphertext: await google.encrypt(DB_PASSWORD),
        env: "DB_PASSWORD",
      },
      {
        name: "not-for-this-image",
        from: "gcp-kms",
        collaborator: "alice",
        key: FORBIDDEN_KEY,
        ciphertext: await google.encrypt("other", FORBIDDEN_KEY),
        env: "OTHER",
      },
    ]);
    const run = startCli(["--config", path, "--", PYTHON, "-c", `open(${JSON.stringify(marker)}, "w")`], google.env());
    const { code } = await run.exit;
    expect(code).toBe(1);
    expect(run.stderr()).toContain('secret "not-for-this-image" (gcp-kms) could not be resolved');
    expect(run.stderr()).toContain("PERMISSION_DENIED");
    expect(run.stderr()).not.toContain(DB_PASSWORD);
    expect(existsSync(marker)).toBe(false);
  });

  it("exits with the app's exit code", async () => {
    const run = startCli(
      ["--config", await twoSecrets(), "--", PYTHON, "-c", "import sys; sys.exit(42)"],
      google.env(),
    );
    expect((await run.exit).code).toBe(42);
  });

  it("forwards SIGTERM to the app and exits with the code the app chose", async () => {
    const script = [
      "import signal, sys, time",
      "signal.signal(signal.SIGTERM, lambda *a: (print('got SIGTERM', flush=True), sys.exit(7)))",
      "print('ready', flush=True)",
      "time.sleep(30)",
    ].join("\n");
    const run = startCli(["--config", await twoSecrets(), "--", PYTHON, "-c", script], google.env());
    await until(() => run.stdout().includes("ready"));
    run.child.kill("SIGTERM");
    const { code } = await run.exit;
    expect(run.stdout()).toContain("got SIGTERM");
    expect(code).toBe(7);
  });

  it("exits 128 + n when a signal ends the app", async () => {
    const run = startCli(
      ["--config", await twoSecrets(), "--", PYTHON, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
      google.env(),
    );
    expect((await run.exit).code).toBe(137);
  });

  it("refuses an unknown configuration key with exit 2, naming it, before resolving anything", async () => {
    const before = recorded(google.kms).length;
    const path = await config([], "secretDir: /dev/shm");
    const run = startCli(["--config", path, "--", PYTHON, "-c", "print('ran')"], google.env());
    expect((await run.exit).code).toBe(2);
    expect(run.stderr()).toContain("secretDir: unknown field");
    expect(run.stdout()).toBe("");
    expect(recorded(google.kms).length).toBe(before);
  });

  it("exits 127 naming the command when it does not exist, and still removes the secrets directory", async () => {
    const before = (await readdir("/dev/shm")).filter((n) => n.startsWith("confspace-bootstrap-")).length;
    const run = startCli(["--config", await twoSecrets(), "--", "/nonexistent/app"], google.env());
    expect((await run.exit).code).toBe(127);
    expect(run.stderr()).toBe("confspace-bootstrap: cannot start /nonexistent/app: ENOENT\n");
    expect((await readdir("/dev/shm")).filter((n) => n.startsWith("confspace-bootstrap-")).length).toBe(before);
  });

  it("refuses to start without a command after --", async () => {
    const run = startCli(["--config", await config([])], google.env());
    expect((await run.exit).code).toBe(2);
    expect(run.stderr()).toContain("no command");
  });
});
