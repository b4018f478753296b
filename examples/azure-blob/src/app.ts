// The workload: write a blob and read it back with the official @azure/storage-blob
// client, authenticated by the confspace broker credential. Runs unchanged in
// Confidential Space (real launcher, real broker, real storage account) and locally
// against the demo's emulator, broker and Azurite.
import { BlobServiceClient } from "@azure/storage-blob";
import { BrokerError, ConfidentialSpaceBrokerCredential } from "@confspace/azure-credential";
import { ConfspaceError } from "@confspace/core";

/** Azure Storage's scope: the credential asks the broker for a token for it. */
export const STORAGE_SCOPE = "https://storage.azure.com/.default";

export interface AzureBlobAppConfig {
  /** The token broker, e.g. `https://broker.example.com:8443` (env `CONFSPACE_BROKER_URL`). */
  brokerUrl: string;
  /** The broker's attestation audience (env `CONFSPACE_BROKER_AUDIENCE`). */
  audience: string;
  /** PEM CA of the broker's certificate, when it is not from a public CA. */
  brokerCa?: string;
  /** The storage account's blob endpoint, e.g. `https://myaccount.blob.core.windows.net` (env `AZURE_STORAGE_ACCOUNT_URL`). */
  accountUrl: string;
  /** Container to write into; created if missing (env `AZURE_STORAGE_CONTAINER`). */
  container: string;
  /** Blob name. Default `confspace/hello-<time>.txt`. */
  blobName?: string;
  /** Use this credential instead of building one from the broker settings (it is not disposed). */
  credential?: ConfidentialSpaceBrokerCredential;
  /** Where each step is printed. Default `console.log`. */
  log?: (line: string) => void;
}

export interface AzureBlobAppResult {
  container: string;
  blobName: string;
  /** What was read back (equal to what was written). */
  content: string;
  /** The blob names listed in the container. */
  listed: string[];
}

/** Runs the workload once: token, container, upload, list, download. Throws on the first failure. */
export async function run(config: AzureBlobAppConfig): Promise<AzureBlobAppResult> {
  const log = config.log ?? ((line: string) => console.log(line));
  const credential =
    config.credential ??
    new ConfidentialSpaceBrokerCredential({
      brokerUrl: config.brokerUrl,
      audience: config.audience,
      ...(config.brokerCa === undefined ? {} : { ca: config.brokerCa }),
    });
  try {
    log(`credential: token broker ${config.brokerUrl}, audience ${config.audience}`);
    // Not needed (the SDK asks the credential itself); done here to show the token's
    // lifetime. The SDK's calls below are served from the credential's cache.
    const token = await credential.getToken(STORAGE_SCOPE);
    const minutes = Math.round((token.expiresOnTimestamp - Date.now()) / 60_000);
    log(
      `token obtained from the broker for ${STORAGE_SCOPE} (expires in ${minutes} min; the token itself is never printed)`,
    );

    const service = new BlobServiceClient(config.accountUrl, credential);
    const container = service.getContainerClient(config.container);
    const created = await container.createIfNotExists();
    log(`container "${config.container}" ${created.succeeded ? "created" : "already there"} at ${config.accountUrl}`);

    const blobName = config.blobName ?? `confspace/hello-${new Date().toISOString().replace(/[:.]/g, "-")}.txt`;
    const content = `Hello from a Confidential Space workload, ${new Date().toISOString()}`;
    const blob = container.getBlockBlobClient(blobName);
    await blob.upload(content, Buffer.byteLength(content), { blobHTTPHeaders: { blobContentType: "text/plain" } });
    log(`blob "${blobName}" written (${Buffer.byteLength(content)} bytes)`);

    const listed: string[] = [];
    for await (const item of container.listBlobsFlat({ prefix: blobName.split("/")[0] })) listed.push(item.name);
    log(`container lists ${listed.length} blob(s) under "${blobName.split("/")[0]}/"`);

    const read = (await blob.downloadToBuffer()).toString("utf8");
    if (read !== content) throw new Error(`blob "${blobName}" read back different content`);
    log(`blob "${blobName}" read back: "${read}"`);
    return { container: config.container, blobName, content: read, listed };
  } finally {
    if (config.credential === undefined) credential.dispose();
  }
}

/** One line saying why the app failed, for people: which broker check, which option… */
export function describeError(error: unknown): string {
  if (error instanceof BrokerError && error.check !== undefined) {
    return `attestation check "${error.check}" failed (${error.code}): ${error.message}`;
  }
  if (error instanceof ConfspaceError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
