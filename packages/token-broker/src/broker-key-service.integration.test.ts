// The key service inside the broker, end to end: a workload gets its certificate from
// POST /v1/token ("provider": "certificate", EKM-bound as every request) and uses it on the
// key service's own mTLS listener; restarts, rotation and a Cloud KMS-wrapped root.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalKms } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV, type RunningBroker, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { call } from "../test/key-service-client.js";
import type { ClientPair } from "../test/key-service-pki.js";
import { type BrokerConfig, createBroker } from "./index.js";

const IMAGE_B = `sha256:${"b".repeat(64)}`;
const ROOT_1 = randomBytes(32).toString("base64");
const ROOT_2 = randomBytes(32).toString("base64");
const SECRET = Buffer.from("openbao root key share, never logged").toString("base64");

describe("broker: key service", () => {
  let env: TestEnvironment;
  let dir: string;
  let running: RunningBroker;
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

  const withKeyService = (edit: (config: BrokerConfig) => void = () => {}) =>
    env.config((config) => {
      config.certificates = { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "ca.key") };
      config.attestation.policy.imageDigests = [env.imageDigest, IMAGE_B];
      config.grants.push(
        { name: "openbao", match: { imageDigests: [env.imageDigest] }, certificate: { keys: ["openbao-unseal"] } },
        { name: "other", match: { imageDigests: [IMAGE_B] }, certificate: { keys: ["other-key"] } },
      );
      config.keyService = {
        listen: { host: "127.0.0.1", port: 0 },
        roots: [{ version: 1, file: join(dir, "root-1.b64") }],
      };
      edit(config);
    });

  /** A certificate from the broker for the (default or given) image, with the key it was requested for. */
  async function certificate(broker: RunningBroker, name: string, image?: string): Promise<ClientPair> {
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
    openssl("req", "-new", "-key", `${name}.key`, "-subj", "/CN=workload", "-out", `${name}.csr`);
    const csr = execFileSync("cat", [`${name}.csr`], { cwd: dir }).toString();
    const res = await broker.request({
      body: { provider: "certificate", csr },
      ...(image === undefined
        ? {}
        : {
            token: {
              mutateClaims: (claims: Record<string, unknown>) => {
                (claims.submods as { container: { image_digest: string } }).container.image_digest = image;
              },
            },
          }),
    });
    expect(res.status).toBe(200);
    return {
      cert: res.json.certificate as string,
      key: execFileSync("cat", [`${name}.key`], { cwd: dir }).toString(),
      certFile: "",
      keyFile: "",
    };
  }
  const keys = (broker: RunningBroker) => {
    const address = broker.broker.serviceAddress("keyService");
    if (address === undefined) throw new Error("the key service is not listening");
    return (client: ClientPair, path: string, body: unknown) =>
      call(address.url, env.pki.caPem, path, { client, body });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "confspace-broker-keys-"));
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
    openssl(
      ...["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=confspace workload CA", "-days", "2"],
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-out", "ca.crt"],
    );
    writeFileSync(join(dir, "root-1.b64"), `${ROOT_1}\n`);
    env = await startTestEnvironment();
    running = await env.startBroker(withKeyService());
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("lets a broker-issued certificate use its grant's key and no other grant's", async () => {
    const a = await certificate(running, "a");
    const b = await certificate(running, "b", IMAGE_B);
    const use = keys(running);
    const encrypted = await use(a, "/v1/transit/encrypt/openbao-unseal", { plaintext: SECRET });
    expect(encrypted.status).toBe(200);
    expect(encrypted.body.data.ciphertext).toMatch(/^vault:v1:/);
    const decrypted = await use(a, "/v1/transit/decrypt/openbao-unseal", {
      ciphertext: encrypted.body.data.ciphertext,
    });
    expect(decrypted.body.data.plaintext).toBe(SECRET);

    const stolen = await use(b, "/v1/transit/decrypt/openbao-unseal", { ciphertext: encrypted.body.data.ciphertext });
    expect(stolen.status).toBe(403);
    expect(stolen.body).toEqual({ errors: ['permission denied: grant "other" does not list key "openbao-unseal"'] });
    expect((await use(b, "/v1/transit/encrypt/other-key", { plaintext: SECRET })).status).toBe(200);

    const line = running.logs.records().findLast((r) => r.msg === "key service request" && r.status === 403);
    expect(line).toMatchObject({
      operation: "decrypt",
      grant: "other",
      keyName: "openbao-unseal",
      outcome: "permission_denied",
    });
    expect(running.logs.lines.join("\n")).not.toContain(SECRET);
    expect(running.broker.metrics.render()).toMatch(
      /confspace_broker_key_requests_total\{operation="encrypt",outcome="ok"\} [1-9]/,
    );
    const metricsUrl = running.broker.metricsAddress?.url;
    expect(await (await fetch(`${metricsUrl}/metrics`)).text()).toContain("confspace_broker_key_requests_total");
  });

  it("keeps decrypting after a broker restart with the same root, and after a rotation", async () => {
    const a = await certificate(running, "a1");
    const v1 = (await keys(running)(a, "/v1/transit/encrypt/openbao-unseal", { plaintext: SECRET })).body.data
      .ciphertext;

    const restarted = await env.startBroker(withKeyService());
    try {
      const again = await keys(restarted)(a, "/v1/transit/decrypt/openbao-unseal", { ciphertext: v1 });
      expect(again.body.data.plaintext).toBe(SECRET);
    } finally {
      await restarted.broker.close();
    }

    const rotated = await env.startBroker(
      withKeyService((config) => {
        config.keyService?.roots.push({ version: 2, env: "KEY_ROOT_2" });
      }),
      { env: { ...ENV, KEY_ROOT_2: ROOT_2 } },
    );
    try {
      const use = keys(rotated);
      expect((await use(a, "/v1/transit/decrypt/openbao-unseal", { ciphertext: v1 })).body.data.plaintext).toBe(SECRET);
      const v2 = await use(a, "/v1/transit/encrypt/openbao-unseal", { plaintext: SECRET });
      expect(v2.body.data.ciphertext).toMatch(/^vault:v2:/);
      expect(rotated.logs.lines.join("\n")).not.toContain(ROOT_2);
    } finally {
      await rotated.broker.close();
    }
  });

  it("starts with a Cloud KMS-wrapped root (the local KMS) that decrypts what the file root encrypted", async () => {
    const keyName = "projects/broker-project/locations/global/keyRings/broker/cryptoKeys/key-root";
    const kms = await startLocalKms({
      tokenIssuers: [],
      staticTokens: [{ token: "broker-kms-token", member: "user:broker@example.com" }],
      keys: [
        {
          name: keyName,
          bindings: [{ role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", members: ["user:broker@example.com"] }],
        },
      ],
    });
    try {
      const wrapped = await fetch(`${kms.endpoint}/v1/${keyName}:encrypt`, {
        method: "POST",
        headers: { authorization: "Bearer broker-kms-token", "content-type": "application/json" },
        body: JSON.stringify({ plaintext: ROOT_1 }),
      });
      const { ciphertext } = (await wrapped.json()) as { ciphertext: string };
      const a = await certificate(running, "a2");
      const v1 = (await keys(running)(a, "/v1/transit/encrypt/openbao-unseal", { plaintext: SECRET })).body.data
        .ciphertext;
      const replica = await env.startBroker(
        withKeyService((config) => {
          if (config.keyService === undefined) return;
          config.keyService.roots = [
            {
              version: 1,
              kmsWrapped: { key: keyName, ciphertext, endpoint: kms.endpoint, accessTokenEnv: "KMS_TOKEN" },
            },
          ];
        }),
        { env: { ...ENV, KMS_TOKEN: "broker-kms-token" } },
      );
      try {
        const opened = await keys(replica)(a, "/v1/transit/decrypt/openbao-unseal", { ciphertext: v1 });
        expect(opened.body.data.plaintext).toBe(SECRET);
        expect(kms.requests.map((r) => [r.operation, r.caller, r.status])).toContainEqual([
          "decrypt",
          "user:broker@example.com",
          200,
        ]);
        expect(replica.logs.lines.join("\n")).not.toContain("broker-kms-token");
      } finally {
        await replica.broker.close();
      }
    } finally {
      await kms.close();
    }
  });

  it.each<[string, (config: BrokerConfig) => void, string]>([
    [
      "without certificates",
      (config) => {
        delete config.certificates;
        config.grants = config.grants.filter((grant) => grant.certificate === undefined);
      },
      "keyService: needs certificates",
    ],
    [
      "when no grant lists a key",
      (config) => {
        for (const grant of config.grants) if (grant.certificate !== undefined) grant.certificate = {};
      },
      "keyService: no grant lists a key",
    ],
    [
      "with keys no grant lists",
      (config) => {
        if (config.keyService) config.keyService.keys = { typo: { minDecryptionVersion: 1 } };
      },
      "keyService.keys.typo: is listed by no grant",
    ],
    [
      "with an unset root variable",
      (config) => config.keyService?.roots.push({ version: 2, env: "UNSET_ROOT" }),
      "keyService.roots[1].env: the environment variable UNSET_ROOT is not set",
    ],
  ])("refuses a configuration %s at createBroker", (_, edit, message) => {
    const config = withKeyService(edit);
    expect(() => createBroker(config, { env: ENV })).toThrow(message);
  });

  it("refuses a weak root at listen(), naming the field; nothing stays listening", async () => {
    writeFileSync(join(dir, "weak.b64"), Buffer.alloc(16, 1).toString("base64"));
    const broker = createBroker(
      withKeyService((config) => {
        if (config.keyService) config.keyService.roots = [{ version: 1, file: join(dir, "weak.b64") }];
      }),
      { env: ENV },
    );
    await expect(broker.listen()).rejects.toThrow("keyService.roots[0].file: the root is 16 bytes");
    expect(broker.address).toBeUndefined();
    await broker.close();
  });
});
