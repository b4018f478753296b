import { createServer } from "node:net";
import { createTestPki } from "@confspace/testing";
import { describe, expect, it } from "vitest";
import { createBroker } from "./broker.js";
import { parseBrokerConfig } from "./load-config.js";

const YAML = `
tls: { certFile: /tls/cert.pem, keyFile: /tls/key.pem }
attestation: { audience: https://broker.example, policy: { projectIds: [my-project], serviceAccounts: [app@my-project.iam.gserviceaccount.com] } }
metrics: false
upstreams:
  azure:
    contoso: { tenantId: contoso.example, clientId: app, clientSecretEnv: CONTOSO_SECRET }
grants:
  - name: blob
    match: { projectIds: [my-project], serviceAccounts: [app@my-project.iam.gserviceaccount.com] }
    azure: [{ tenant: contoso, scopes: [https://storage.azure.com/.default] }]
`;

describe("listen", () => {
  it("reports an address in use as ERR_BROKER_LISTEN and can retry", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    const pki = await createTestPki();
    try {
      const config = parseBrokerConfig(YAML);
      config.tls = { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath };
      config.listen = { host: "127.0.0.1", port };
      const broker = createBroker(config, { env: { CONTOSO_SECRET: "x" } });
      await expect(broker.listen()).rejects.toMatchObject({ code: "ERR_BROKER_LISTEN" });
      await new Promise((resolve) => blocker.close(resolve));
      await expect(broker.listen()).resolves.toMatchObject({ port });
      await broker.close();
    } finally {
      blocker.close();
      await pki.cleanup();
    }
  });
});
