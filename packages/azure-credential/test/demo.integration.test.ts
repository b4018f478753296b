// `pnpm demo` end to end, as a user runs it: a fresh process, exit code and the lines
// that show each step worked.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function runDemo(): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // process.execPath: the Node running the tests (the repository's Node 24), as `pnpm demo` uses.
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: "" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 75_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe("pnpm demo", () => {
  it("runs the Azure Blob example end to end, shows the denial, stops everything, exits 0 within 60 s", {
    timeout: 90_000,
  }, async () => {
    const { code, output, ms } = await runDemo();
    expect(output).toContain("demo OK");
    expect(code).toBe(0);
    expect(ms).toBeLessThan(60_000);
    for (const line of [
      "Confidential Space emulator: launcher socket",
      "local Microsoft Entra token endpoint: https://localhost:",
      "token broker: https://localhost:",
      "Azurite blob service: https://127.0.0.1:",
      "token obtained from the broker for https://storage.azure.com/.default",
      'container "confspace-demo" created',
      "written (",
      "read back:",
      "one broker call served every storage request (1)",
      'attestation check "image_digest" failed (ERR_BROKER_DENIED)',
      "2 token requests: 1 granted, 1 refused (invalid_token)",
      "stopped: Azurite, broker, local Entra, emulator",
    ]) {
      expect(output).toContain(line);
    }
    // Steps in order.
    const order = ["[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]", "demo OK"].map((mark) => output.indexOf(mark));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // No token of any kind is printed.
    expect(output).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/);
    expect(output).not.toContain("local-entra-secret-");
  });
});
