// The real-deployment files must stay consistent with each other and pass the broker's and
// the bootstrap's own strict loaders: the seal stanza names the key the grant lists, on
// the key service's port and mount, with the files the entrypoint's bootstrap writes.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBootstrapConfig } from "@confspace/bootstrap";
import { loadBrokerConfig } from "@confspace/token-broker";
import { describe, expect, it } from "vitest";
import { UNSEAL_KEY } from "./lab.js";

const DEPLOY = join(dirname(fileURLToPath(import.meta.url)), "..", "deploy");
const read = (file: string) => readFile(join(DEPLOY, file), "utf8");

/** The `key = "value"` settings of one HCL block, e.g. `seal "transit"`. */
function hclBlock(text: string, header: string): Record<string, string> {
  const start = text.indexOf(`${header} {`);
  expect(start, `${header} block`).toBeGreaterThanOrEqual(0);
  const body = text.slice(start, text.indexOf("\n}", start));
  return Object.fromEntries([...body.matchAll(/^\s*(\w+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("deploy/", () => {
  it("broker.yaml loads with the broker's strict loader and gives the OpenBao grant only the unseal key", async () => {
    const config = await loadBrokerConfig(join(DEPLOY, "broker.yaml"));
    const grant = config.grants.find((g) => g.name === "openbao");
    expect(grant?.certificate?.keys).toEqual([UNSEAL_KEY]);
    expect(grant?.certificate?.maxLifetimeSeconds).toBe(900);
    expect(grant?.match.imageDigests?.every((d) => config.attestation.policy?.imageDigests?.includes(d))).toBe(true);
    expect(config.keyService?.listen?.port).toBe(8444);
    expect(config.keyService?.roots.every((root) => "kmsWrapped" in root)).toBe(true);
  });

  it("openbao.hcl's seal names that key, the key service's port and mount, and the files the entrypoint writes", async () => {
    const [hcl, entrypoint, config] = await Promise.all([
      read("openbao.hcl"),
      read("entrypoint.sh"),
      loadBrokerConfig(join(DEPLOY, "broker.yaml")),
    ]);
    const seal = hclBlock(hcl, 'seal "transit"');
    expect(seal.key_name).toBe(UNSEAL_KEY);
    expect(seal.mount_path).toBe(`${config.keyService?.mountPath ?? "transit"}/`);
    expect(new URL(seal.address!).port).toBe(String(config.keyService?.listen?.port));
    expect(seal.disable_renewal).toBe("true");
    expect(seal.token).toBeUndefined();
    const outDir = /confspace-bootstrap certificate --out-dir (\S+)/.exec(entrypoint)?.[1];
    expect(seal.tls_client_cert).toBe(`${outDir}/tls.crt`);
    expect(seal.tls_client_key).toBe(`${outDir}/tls.key`);
    expect(seal.tls_ca_cert).toBe(`${outDir}/ca.crt`);
    expect(entrypoint).toMatch(/^exec bao server -config=\/etc\/openbao\/openbao\.hcl$/m);
    // The flags the local run and the e2e test pass to the same command (lab.ts, `cli: true`).
    const command = /^confspace-bootstrap certificate (?:[^\n]*\\\n)*[^\n]*$/m.exec(entrypoint)?.[0] ?? "";
    expect(command.match(/--[a-z-]+/g)).toEqual(["--out-dir", "--broker-ca", "--key-service-ca"]);
  });

  it("bootstrap.yaml loads with the bootstrap's strict loader, and the Dockerfile ships every file the others name", async () => {
    const bootstrap = await loadBootstrapConfig(join(DEPLOY, "bootstrap.yaml"));
    expect(bootstrap.secrets.map((s) => s.name)).toEqual(["listener-key"]);
    const dockerfile = await read("Dockerfile");
    const copied = /^COPY (?!--from)(.+) \/etc\/openbao\/$/m.exec(dockerfile)?.[1]?.split(" ") ?? [];
    for (const file of ["openbao.hcl", "bootstrap.yaml", "broker-ca.crt", "listener.crt", "listener.key.enc"]) {
      expect(copied).toContain(file);
    }
    expect(dockerfile).toContain(
      'LABEL "tee.launch_policy.allow_env_override"="CONFSPACE_BROKER_URL,CONFSPACE_BROKER_AUDIENCE"',
    );
  });
});
