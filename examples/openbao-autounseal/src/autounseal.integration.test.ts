// Issue 12's end-to-end steps against a real OpenBao, a real broker with its key service and
// the real bootstrap code: only the emulator stands in for Confidential Space. The steps
// share one lab and run in order (each leaves OpenBao stopped).
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { OpenBao } from "@confspace/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRANT, type Lab, OTHER_KEY, startLab } from "./lab.js";

const SECRET = { password: "correct horse battery staple" };

describe("OpenBao auto-unseal through the broker's key service", () => {
  let lab: Lab;
  let bao: OpenBao;
  const secretReadsBack = async () =>
    expect((await bao.request({ method: "GET", path: "secret/data/app/db" })).body?.data).toMatchObject({
      data: SECRET,
    });

  beforeAll(async () => {
    lab = await startLab();
    await lab.startBroker();
  }, 30_000);
  afterAll(async () => {
    await lab?.close();
  });

  it("1–2: the bootstrap writes the certificate, OpenBao initialises against the key service, and after a restart it is unsealed by itself with its secret", async () => {
    expect((await lab.bootstrap()).grant).toBe(GRANT);
    bao = await lab.startOpenBao();
    expect(await bao.sealStatus()).toEqual({ type: "transit", initialized: true, sealed: false });
    await bao.request({ method: "POST", path: "secret/data/app/db", body: { data: SECRET } });
    await bao.stop();
    // The restarted container's bootstrap: the command deploy/entrypoint.sh runs.
    expect((await lab.bootstrap({ cli: true })).grant).toBe(GRANT);
    await bao.start();
    expect(await bao.sealStatus()).toMatchObject({ sealed: false });
    await secretReadsBack();
    await bao.stop();
  });

  it("3: image B's bootstrap is refused with the failed check, and OpenBao without a certificate stays sealed", async () => {
    const refused = await lab.bootstrap({ image: "B", outDir: join(lab.dir, "image-b") }).then(
      () => undefined,
      (error: Error & { code?: string; check?: string }) => error,
    );
    expect(refused).toMatchObject({ check: expect.stringMatching(/image_digest/) });
    // Image B's container has no certificate (its bootstrap failed): OpenBao cannot reach the key service.
    await rm(join(lab.certDir, "tls.crt"));
    await rm(join(lab.certDir, "tls.key"));
    await expect(bao.start()).rejects.toThrow(/Error configuring seal "transit"/);
    expect(bao.running).toBe(false);
  });

  it("4: a certificate for grant openbao cannot use another grant's key (the key service answers 403)", async () => {
    await lab.bootstrap();
    await expect(lab.startOpenBao({ keyName: OTHER_KEY })).rejects.toThrow(
      /Error configuring seal "transit"[\s\S]*Code: 403/,
    );
  });

  it("4: an expired certificate is refused at the handshake; a fresh one unseals again", async () => {
    const { expiresAt } = await lab.bootstrap({ lifetimeSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1_100));
    await expect(bao.start()).rejects.toThrow(/Error configuring seal "transit"/);
    await lab.bootstrap();
    await bao.start();
    await secretReadsBack();
    await bao.stop();
  });

  it("4: a broker restart with the same root keeps unseal working", async () => {
    await lab.stopBroker();
    await lab.startBroker({ roots: [1] });
    await lab.bootstrap();
    await bao.start();
    await secretReadsBack();
    await bao.stop();
  });

  it("a broker rollout that drops the key from the grant refuses the certificate issued before it", async () => {
    await lab.bootstrap();
    await lab.startBroker({ grantKeys: ["something-else"] });
    await expect(bao.start()).rejects.toThrow(/Error configuring seal "transit"[\s\S]*Code: 403/);
    await lab.startBroker();
  });

  it("4: after a root rotation the v1 ciphertexts still unseal, OpenBao re-encrypts them with v2, and v1 can then be retired", async () => {
    await lab.startBroker({ roots: [1, 2] });
    await lab.bootstrap();
    await bao.start();
    await secretReadsBack();
    await bao.stop();
    // Only v2 decrypts now: OpenBao's stored keys must have been rewritten as vault:v2:… at the last start.
    await lab.startBroker({ roots: [1, 2], minDecryptionVersion: 2 });
    await lab.bootstrap();
    await bao.start();
    await secretReadsBack();
    await bao.stop();
  });

  it("with a token and renewal on, the seal's renew-self call is answered and it unseals all the same", async () => {
    await lab.bootstrap();
    await using other = await lab.startOpenBao({ token: "not-a-vault-token", disableRenewal: false });
    expect(await other.sealStatus()).toEqual({ type: "transit", initialized: true, sealed: false });
    const renewals = lab.brokerLogs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.msg === "key service request" && r.operation === "token_renew_self");
    expect(renewals).toContainEqual(expect.objectContaining({ grant: GRANT, status: 200 }));
    expect(lab.brokerLogs.join("\n")).not.toContain("not-a-vault-token");
  });

  it("the broker logged who used which key with what outcome, and never a root, a private key or a secret", async () => {
    const records = lab.brokerLogs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const used = records.filter((r) => r.msg === "key service request");
    expect(used).toContainEqual(
      expect.objectContaining({ grant: GRANT, keyName: "openbao-unseal", operation: "decrypt", status: 200 }),
    );
    expect(used).toContainEqual(expect.objectContaining({ grant: GRANT, keyName: OTHER_KEY, status: 403 }));
    const text = lab.brokerLogs.join("\n");
    const roots = await Promise.all([1, 2].map((v) => readFile(join(lab.dir, `root-v${v}`), "utf8")));
    const privateKey = (await readFile(join(lab.certDir, "tls.key"), "utf8")).split("\n")[1]!;
    for (const secret of [...roots.map((r) => r.trim()), privateKey, SECRET.password, "PRIVATE KEY"]) {
      expect(text).not.toContain(secret);
    }
  });
}, 60_000);
