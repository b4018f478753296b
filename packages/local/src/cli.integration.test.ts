import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";

const CLI = join(import.meta.dirname, "cli.ts");
const dir = mkdtempSync(join(tmpdir(), "confspace-local-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

it("prints and writes the environment, then stops on SIGTERM with exit 0 and removes the file", async () => {
  const envFile = join(dir, "local.env");
  const cli = run(["up", "--services", "aws", "--write-env", envFile]);
  const deadline = Date.now() + 20_000;
  while (!cli.err().includes("ready:") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(cli.err()).toContain("DEVELOPMENT ONLY");
  expect(cli.out()).toMatch(/^CONFSPACE_BROKER_URL='https:\/\/localhost:\d+'$/m);
  expect(cli.out()).toMatch(/^AWS_ENDPOINT_URL_STS='http:\/\/127\.0\.0\.1:\d+'$/m);
  expect(readFileSync(envFile, "utf8")).toBe(cli.out());
  expect(statSync(envFile).mode & 0o777).toBe(0o600);
  expect(cli.out() + cli.err()).not.toMatch(/SECRET|AKIA/);
  cli.child.kill("SIGTERM");
  expect(await cli.exited).toBe(0);
  expect(cli.err()).toContain("stopped; temporary files removed");
  expect(existsSync(envFile)).toBe(false);
}, 30_000);

it("stops and removes its files when the wrapper that started it is killed (no orphan)", async () => {
  const envFile = join(dir, "orphan.env");
  const errFile = join(dir, "orphan.err");
  // `; true` keeps sh from exec'ing node, as npx and shell wrappers do: killing sh does not signal node.
  const command = `"${process.execPath}" --import tsx "${CLI}" up --services gcp --write-env "${envFile}" 2>"${errFile}" >/dev/null; true`;
  const wrapper = spawn("/bin/sh", ["-c", command], { stdio: "ignore" });
  const until = async (ok: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  await until(() => existsSync(envFile));
  expect(existsSync(envFile)).toBe(true);
  wrapper.kill("SIGKILL");
  await until(() => existsSync(errFile) && readFileSync(errFile, "utf8").includes("stopped;"));
  expect(readFileSync(errFile, "utf8")).toContain("stopping (parent exited)");
  expect(existsSync(envFile)).toBe(false);
}, 30_000);

it.each([
  [["up", "--services", "aws,ftp"], /unknown service "ftp"/],
  [["up"], /--services is required/],
  [["down", "--services", "aws"], /the only command is `up`/],
  [["up", "--services", "aws", "--port", "1"], /Unknown option '--port'/],
])("refuses %j with exit 2 and the usage", async (args, message) => {
  const cli = run(args);
  expect(await cli.exited).toBe(2);
  expect(cli.err()).toMatch(message);
  expect(cli.err()).toContain("usage: confspace-local up");
});
