import type { Logger } from "@confspace/core";
import { type BrokerConfig, createBroker } from "@confspace/token-broker";
import type { TestPki } from "../../tls.js";
import type { LocalBrokerInfo } from "../stack-types.js";

export const BROKER_AUDIENCE = "https://broker.confspace.local";

/** What each upstream adds to the broker's configuration, and the secrets it reads from `env`. */
export interface BrokerPart {
  upstreams: NonNullable<BrokerConfig["upstreams"]>;
  grant: Omit<NonNullable<BrokerConfig["grants"]>[number], "name" | "match">;
  env: Record<string, string>;
}

/** Starts the token broker, trusting the emulator and approving its image only, with one grant holding every upstream's part. */
export async function startLocalBroker(input: {
  pki: TestPki;
  issuer: string;
  imageDigest: string;
  parts: BrokerPart[];
  audience?: string;
  editConfig?: (config: BrokerConfig, context: { pki: TestPki }) => void;
  logger?: Logger;
}): Promise<LocalBrokerInfo & { close(): Promise<void> }> {
  const outcomes: string[] = [];
  const audience = input.audience ?? BROKER_AUDIENCE;
  const outer = input.logger;
  const record = (level: "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
    if (message === "token request") outcomes.push(String(fields?.outcome));
    outer?.[level](message, fields);
  };
  const config: BrokerConfig = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: input.pki.serverCertPath, keyFile: input.pki.serverKeyPath },
    attestation: { audience, issuer: input.issuer, policy: { imageDigests: [input.imageDigest] } },
    upstreams: Object.assign({}, ...input.parts.map((p) => p.upstreams)),
    grants: [
      {
        name: "confspace-local",
        match: { imageDigests: [input.imageDigest] },
        ...Object.assign({}, ...input.parts.map((p) => p.grant)),
      },
    ],
    // A local stack needs no Prometheus listener (its default port may be taken).
    metrics: false,
  } as BrokerConfig;
  input.editConfig?.(config, { pki: input.pki });
  const broker = createBroker(config, {
    env: Object.assign({}, ...input.parts.map((p) => p.env)),
    logger: {
      debug: (message, fields) => outer?.debug(message, fields),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    },
  });
  const { port } = await broker.listen();
  return {
    url: `https://localhost:${port}`,
    audience,
    requests: (outcome) => outcomes.filter((o) => outcome === undefined || o === outcome).length,
    close: () => broker.close({ timeoutMs: 1_000 }),
  };
}
