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
}): Promise<LocalBrokerInfo & { close(): Promise<void> }> {
  const outcomes: string[] = [];
  const record = (message: string, fields?: Record<string, unknown>) => {
    if (message === "token request") outcomes.push(String(fields?.outcome));
  };
  const config: BrokerConfig = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: input.pki.serverCertPath, keyFile: input.pki.serverKeyPath },
    attestation: { audience: BROKER_AUDIENCE, issuer: input.issuer, policy: { imageDigests: [input.imageDigest] } },
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
  const broker = createBroker(config, {
    env: Object.assign({}, ...input.parts.map((p) => p.env)),
    logger: { debug() {}, info: record, warn: record, error: record },
  });
  const { port } = await broker.listen();
  return {
    url: `https://localhost:${port}`,
    audience: BROKER_AUDIENCE,
    requests: (outcome) => outcomes.filter((o) => outcome === undefined || o === outcome).length,
    close: () => broker.close({ timeoutMs: 1_000 }),
  };
}
