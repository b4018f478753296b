// The deployment example must stay consistent with the broker: the manifest runs the
// CLI on the configuration path the Dockerfile uses, on the port broker.yaml listens on,
// behind a TCP (passthrough) LoadBalancer.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadBrokerConfig } from "./load-config.js";

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), "../../../examples/broker");

interface Manifest {
  kind: string;
  spec: Record<string, unknown> & {
    replicas?: number;
    type?: string;
    ports?: Array<{ port: number; targetPort: string | number; protocol: string }>;
    template?: { spec: { containers: Array<Record<string, unknown>> } };
  };
}

describe("examples/broker", () => {
  it("deploys two replicas behind a TCP LoadBalancer on 443, with the CLI reading /etc/confspace/broker.yaml", async () => {
    const docs = parseAllDocuments(await readFile(`${EXAMPLE}/broker.k8s.yaml`, "utf8"));
    for (const doc of docs) expect(doc.errors).toEqual([]);
    const manifests = docs.map((doc) => doc.toJS() as Manifest);
    const deployment = manifests.find((m) => m.kind === "Deployment")!;
    const service = manifests.find((m) => m.kind === "Service")!;
    expect(deployment.spec.replicas).toBe(2);
    const container = deployment.spec.template!.spec.containers[0]!;
    expect(container.args).toEqual(["--config", "/etc/confspace/broker.yaml"]);
    expect(container.ports).toEqual([{ name: "https", containerPort: 8443, protocol: "TCP" }]);
    expect(service.spec.type).toBe("LoadBalancer");
    expect(service.spec.ports).toEqual([{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }]);
    expect(manifests.some((m) => m.kind === "Ingress")).toBe(false);

    const config = await loadBrokerConfig(`${EXAMPLE}/broker.yaml`);
    expect(config.listen?.port).toBe(8443);
    expect(config.tls.certFile.startsWith("/etc/confspace/tls/")).toBe(true);
    // Metrics stay off the LoadBalancer: loopback listener, a port the Service does not expose.
    expect(config.metrics).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(service.spec.ports!.some((p) => p.port === 9464)).toBe(false);
    // The connection caps fit the common 1,024 descriptor limit with the documented headroom.
    expect(config.limits!.maxConnections! + 128).toBeLessThanOrEqual(1024);
  });

  it("builds an image that runs confspace-broker --config /etc/confspace/broker.yaml as a non-root user", async () => {
    const dockerfile = await readFile(`${EXAMPLE}/Dockerfile`, "utf8");
    expect(dockerfile).toMatch(/^FROM node:24-slim|^ARG NODE_IMAGE=node:24-slim/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["/app/node_modules/.bin/confspace-broker"]');
    expect(dockerfile).toContain('CMD ["--config", "/etc/confspace/broker.yaml"]');
  });
});
