import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type RunningBroker, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import type { BrokerPolicy, GrantMatch } from "./config-types.js";

// `npx confspace-emulator` (the checkout bin of the emulator), run with this Node.
const EMULATOR_BIN = join(
  dirname(createRequire(import.meta.url).resolve("@confspace/emulator/package.json")),
  "bin",
  "confspace-emulator.js",
);

/** The broker config snippet the emulator CLI prints on stderr, parsed. */
async function printedSnippet(): Promise<{ policy: BrokerPolicy; match: GrantMatch }> {
  const child: ChildProcess = spawn(process.execPath, [EMULATOR_BIN, "--no-token-file"], { stdio: "pipe" });
  let stderr = "";
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk;
        if (/ {6}match:\n(?: {8}.+\n)+/.test(stderr)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`confspace-emulator exited with ${code}: ${stderr}`)));
    });
  } finally {
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
  }
  // The indented lines under the header, up to the first line that is not (the stop message).
  const after = stderr.slice(stderr.indexOf("broker config that accepts it")).split("\n").slice(1);
  const block = after.slice(
    0,
    after.findIndex((line) => !line.startsWith("  ")),
  );
  const config = parse(block.join("\n")) as {
    attestation: { policy: BrokerPolicy };
    grants: { match: GrantMatch }[];
  };
  return { policy: config.attestation.policy, match: config.grants[0]!.match };
}

describe("the broker config the emulator CLI prints", () => {
  let env: TestEnvironment;
  let running: RunningBroker;
  let snippet: { policy: BrokerPolicy; match: GrantMatch };

  beforeAll(async () => {
    env = await startTestEnvironment();
    snippet = await printedSnippet();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("is a valid attestation.policy and grant match that give the emulator's workload its token", async () => {
    expect(snippet.policy.imageDigests).toHaveLength(1);
    running = await env.startBroker(
      env.config((config) => {
        config.attestation.policy = snippet.policy;
        config.grants = [{ ...config.grants[0]!, name: "local-emulator", match: snippet.match }];
      }),
    );
    const res = await running.request();
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe("Bearer");
  });
});
