import { expect, it } from "vitest";
import { run } from "./app.js";
import { startLocalStack } from "./local-stack.js";

it("writes, lists and reads a blob in Azurite through the broker with one broker call; an unapproved image is denied", async () => {
  const lines: string[] = [];
  const stack = await startLocalStack({ log: (line) => lines.push(line) });
  const previous = process.env.CONFSPACE_LAUNCHER_SOCKET;
  process.env.CONFSPACE_LAUNCHER_SOCKET = stack.launcherSocket;
  try {
    const options = { brokerUrl: stack.brokerUrl, audience: stack.audience, accountUrl: stack.accountUrl };
    const result = await run({ ...options, brokerCa: stack.caPem, container: "test", log: (l) => lines.push(l) });
    expect(result.container).toBe("test");
    expect(stack.brokerRequests("ok")).toBe(1);
    const credential = stack.unapprovedCredential();
    try {
      await expect(run({ ...options, container: "test", credential, log: () => {} })).rejects.toMatchObject({
        code: "ERR_BROKER_DENIED",
        check: "image_digest",
      });
    } finally {
      credential.dispose();
    }
    expect(lines.join("\n")).not.toMatch(/eyJ[\w-]+\.eyJ/);
  } finally {
    if (previous === undefined) delete process.env.CONFSPACE_LAUNCHER_SOCKET;
    else process.env.CONFSPACE_LAUNCHER_SOCKET = previous;
    await stack.stop();
  }
}, 30_000);
