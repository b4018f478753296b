import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeJwt } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { unixRequest } from "../test/unix-request.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "cli.ts");
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

interface Running {
  child: ChildProcess;
  env: Record<string, string>;
  stderr: () => string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function spawnCli(args: string[]): ChildProcess {
  // The real binary (process.execPath), not a shell wrapper, so signals reach it.
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: ROOT, stdio: "pipe" });
  children.push(child);
  return child;
}

function collect(child: ChildProcess) {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const exit = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  return { stdout: () => stdout, stderr: () => stderr, exit };
}

/** Starts the CLI and waits for its five KEY=value lines. */
async function startCli(args: string[]): Promise<Running> {
  const child = spawnCli(args);
  const output = collect(child);
  const expected = args.includes("--no-token-file") ? 4 : 5;
  await new Promise<void>((ready, fail) => {
    const check = () => {
      if (output.stdout().split("\n").filter(Boolean).length >= expected) ready();
    };
    child.stdout?.on("data", check);
    output.exit.then((code) => fail(new Error(`CLI exited with ${code}: ${output.stderr()}`)));
  });
  const env = Object.fromEntries(
    output
      .stdout()
      .trim()
      .split("\n")
      .map((line) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
  return { child, env, stderr: output.stderr, exit: output.exit };
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "confspace-cli-it-"));
});
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("confspace-emulator CLI", () => {
  it("prints KEY=value lines that lead to a working launcher and issuer, and cleans up on SIGTERM", async () => {
    const dir = join(scratch, "run");
    const cli = await startCli(["--dir", dir, "--lifetime", "120"]);
    expect(Object.keys(cli.env)).toEqual([
      "CONFSPACE_LAUNCHER_SOCKET",
      "CONFSPACE_TOKEN_FILE",
      "CONFSPACE_ATTESTATION_ISSUER",
      "CONFSPACE_ATTESTATION_JWKS_URI",
      "CONFSPACE_PKI_ROOT_FINGERPRINT",
    ]);
    expect(cli.env.CONFSPACE_LAUNCHER_SOCKET).toBe(join(dir, "teeserver.sock"));
    const issuer = cli.env.CONFSPACE_ATTESTATION_ISSUER!;
    expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await unixRequest(cli.env.CONFSPACE_LAUNCHER_SOCKET!);
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body);
    expect(claims.iss).toBe(issuer);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(decodeJwt(await readFile(cli.env.CONFSPACE_TOKEN_FILE!, "utf8")).aud).toBe("https://sts.googleapis.com");

    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery.jwks_uri).toBe(cli.env.CONFSPACE_ATTESTATION_JWKS_URI);
    const rootPem = await (await fetch(`${issuer}/pki/root.pem`)).text();
    const rootDer = Buffer.from(rootPem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    expect(createHash("sha256").update(rootDer).digest("hex")).toBe(cli.env.CONFSPACE_PKI_ROOT_FINGERPRINT);

    cli.child.kill("SIGTERM");
    expect(await cli.exit).toBe(0);
    expect(await exists(cli.env.CONFSPACE_LAUNCHER_SOCKET!)).toBe(false);
    expect(await exists(cli.env.CONFSPACE_TOKEN_FILE!)).toBe(false);
    await expect(fetch(issuer)).rejects.toThrow();
  });

  it("removes its temporary directory on SIGINT", async () => {
    const cli = await startCli(["--profile", "debug"]);
    const dir = dirname(cli.env.CONFSPACE_LAUNCHER_SOCKET!);
    expect(decodeJwt((await unixRequest(cli.env.CONFSPACE_LAUNCHER_SOCKET!)).body).dbgstat).toBe("enabled");
    cli.child.kill("SIGINT");
    expect(await cli.exit).toBe(0);
    expect(await exists(dir)).toBe(false);
  });

  it("reads --profile FILE and honours --no-token-file", async () => {
    const profile = join(scratch, "profile.json");
    await writeFile(profile, JSON.stringify({ hwmodel: "GCP_INTEL_TDX" }));
    const cli = await startCli(["--profile", profile, "--no-token-file"]);
    expect(cli.env).not.toHaveProperty("CONFSPACE_TOKEN_FILE");
    expect(decodeJwt((await unixRequest(cli.env.CONFSPACE_LAUNCHER_SOCKET!)).body).hwmodel).toBe("GCP_INTEL_TDX");
    cli.child.kill("SIGTERM");
    expect(await cli.exit).toBe(0);
  });

  it("exits 2 with a message on a bad flag, and 0 with usage on --help", async () => {
    const bad = collect(spawnCli(["--port", "http"]));
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toMatch(/confspace-emulator: --port: invalid value "http"/);
    expect(bad.stdout()).toBe("");
    const help = collect(spawnCli(["--help"]));
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toMatch(/^Usage: confspace-emulator/);
  });
});
