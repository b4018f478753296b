// The key service as a service of the broker: its `keyService` section, its checks against
// the rest of the configuration, and its listener in the broker's lifecycle.
import { BrokerConfigError } from "../errors.js";
import type { BrokerService, ServiceRuntime } from "../providers/provider.js";
import { checkKeyServiceKeys, type KeyServiceConfig, readKeyServiceConfig } from "./config.js";
import { type KeyService, startKeyService } from "./key-service.js";
import { KeyServiceMetrics } from "./metrics.js";

/**
 * `keyService`: an OpenBao transit-compatible API on its own mutual-TLS listener, for
 * workload certificates of `certificates.caCertFile`.
 */
export const keyService: BrokerService = {
  name: "keyService",
  section: { key: "keyService", read: (value, path) => readKeyServiceConfig(value, path) },
  check(config) {
    const section = config.keyService;
    if (section === undefined) return;
    if (config.certificates === undefined) {
      throw new BrokerConfigError(
        "needs certificates (caCertFile, caKeyFile): its clients authenticate with workload certificates of that CA",
        { field: "keyService" },
      );
    }
    const listed = new Set(config.grants.flatMap((grant) => grant.certificate?.keys ?? []));
    if (listed.size === 0) {
      throw new BrokerConfigError(
        "no grant lists a key (grants[].certificate.keys): nobody could use the key service",
        {
          field: "keyService",
        },
      );
    }
    checkKeyServiceKeys(section, "keyService", listed);
  },
  start(setup): ServiceRuntime | undefined {
    const section: KeyServiceConfig | undefined = setup.config.keyService;
    const certificates = setup.config.certificates;
    if (section === undefined || certificates === undefined) return undefined;
    // Unset variables fail createBroker, as every other `…Env` does; files and KMS wait for listen().
    section.roots.forEach((root, index) => {
      const name = "env" in root ? root.env : "kmsWrapped" in root ? root.kmsWrapped.accessTokenEnv : undefined;
      if (name !== undefined && (setup.env[name] ?? "") === "") {
        const field = "env" in root ? "env" : "kmsWrapped.accessTokenEnv";
        throw new BrokerConfigError(`the environment variable ${name} is not set`, {
          field: `keyService.roots[${index}].${field}`,
        });
      }
    });
    // The grants of this broker's configuration, by name: what each certificate may use.
    const grantKeys = new Map(
      setup.config.grants.map((grant) => [grant.name, Object.freeze([...(grant.certificate?.keys ?? [])])]),
    );
    const limits = setup.config.limits ?? {};
    const metrics = new KeyServiceMetrics();
    for (const family of metrics.families) setup.metrics.register(family);
    let running: KeyService | undefined;
    let closed = false;
    return {
      async listen() {
        if (closed) throw new Error("the key service has been closed");
        running = await startKeyService(section, {
          clientCaFile: certificates.caCertFile,
          defaultTls: { certFile: setup.config.tls.certFile, keyFile: setup.config.tls.keyFile },
          grantKeys: (grant) => grantKeys.get(grant),
          env: setup.env,
          ...(setup.logging ? { logger: setup.logger } : {}),
          clock: setup.clock,
          metrics,
          limits,
        });
        return { url: running.url, host: running.host, port: running.port };
      },
      async close(deadlineMs) {
        closed = true;
        await running?.close(deadlineMs);
      },
    };
  },
};
