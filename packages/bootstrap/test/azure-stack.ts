// Test-only: the one local stack (@confspace/local's startLocalStack, service `azure`: emulator,
// a local Entra token endpoint, the real token broker with an Azure grant for Storage, and the
// throwaway CA this process trusts so the broker reaches Entra). Removed in stop().
import type { Emulator } from "@confspace/emulator";
import { type LocalEntra, startLocalStack, type TestPki } from "@confspace/testing";

export const AUDIENCE = "https://broker.confspace.test";
export const STORAGE = "https://storage.azure.com";

export interface AzureStack {
  pki: TestPki;
  emulator: Emulator;
  entra: LocalEntra;
  brokerUrl: string;
  stop(): Promise<void>;
}

export async function startAzureStack(options: { entraTokenLifetimeSeconds?: number } = {}): Promise<AzureStack> {
  const stack = await startLocalStack({
    services: ["azure"],
    log: () => {},
    emulator: { writeTokenFile: false },
    azure: {
      scopes: [`${STORAGE}/.default`],
      tokenLifetimeSeconds: options.entraTokenLifetimeSeconds ?? 3600,
      storage: false,
    },
    broker: {
      audience: AUDIENCE,
      editConfig: (config) => {
        config.limits = { rateLimit: { ratePerSecond: 1000, burst: 10_000 } };
      },
    },
  });
  return {
    pki: stack.pki,
    emulator: stack.emulator,
    entra: stack.azure!.entra,
    brokerUrl: stack.broker!.url,
    stop: () => stack.stop(),
  };
}
