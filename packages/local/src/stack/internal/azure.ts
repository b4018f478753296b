import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { type LocalAzurite, startAzurite } from "../../microsoft/azurite.js";
import { type LocalEntra, startLocalEntra } from "../../microsoft/entra.js";
import type { TestPki } from "../../tls.js";
import type { LocalStackOptions } from "../stack-types.js";
import type { BrokerPart } from "./broker.js";

const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID = "b7d3c1a0-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
const SECRET_ENV = "CONFSPACE_LOCAL_ENTRA_CLIENT_SECRET";

export interface AzureServices {
  entra: LocalEntra;
  azurite: LocalAzurite | undefined;
  tenantId: string;
  clientId: string;
  scopes: string[];
  broker: BrokerPart;
}

/** Whether the optional peer `azurite` can be loaded from here. */
function azuriteInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
    return true;
  } catch {
    return false;
  }
}

/** Local Entra (client-secret app for the broker) and, when installed, Azurite. */
export async function startAzureServices(
  pki: TestPki,
  options: NonNullable<LocalStackOptions["azure"]>,
  track: (close: () => Promise<void>) => void,
  log: (line: string) => void,
): Promise<AzureServices> {
  const clientSecret = options.clientSecret ?? randomBytes(24).toString("base64url");
  const scopes = options.scopes ?? ["https://storage.azure.com/.default"];
  const entra = await startLocalEntra({
    tenantId: TENANT_ID,
    clients: [{ clientId: CLIENT_ID, clientSecret }, ...(options.clients?.({ pki }) ?? [])],
    tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    ...(options.refreshInSeconds !== undefined && { refreshInSeconds: options.refreshInSeconds }),
  });
  track(() => entra.close());
  log(`local Microsoft Entra token endpoint: ${entra.authorityHost} (tenant ${TENANT_ID})`);
  let azurite: LocalAzurite | undefined;
  if (options.storage !== false) {
    if (azuriteInstalled()) {
      azurite = await startAzurite({ tls: { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath } });
      const started = azurite;
      track(() => started.close());
      log(`Azurite blob service: ${azurite.accountUrl} (OAuth, HTTPS)`);
    } else {
      log("Azurite is not installed (npm install --save-dev azurite): no local Blob Storage");
    }
  }
  return {
    entra,
    azurite,
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
    scopes,
    broker: {
      upstreams: {
        azure: {
          local: {
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            clientSecretEnv: SECRET_ENV,
            authorityHost: entra.authorityHost,
          },
        },
      },
      grant: { azure: [{ tenant: "local", scopes }] },
      env: { [SECRET_ENV]: clientSecret },
    },
  } as AzureServices;
}
