// `from: broker-datakey`: a secret sealed with the token broker's attested key service
// (`sealState` of @confspace/ekm-tls: a wrapped data key + AES-256-GCM). Opening it takes a
// workload certificate from the broker (so: this image's attestation and a grant listing
// the key), then `decrypt` of the wrapped data key on the key service's transit API.
import { readFile } from "node:fs/promises";
import {
  BROKER_AUDIENCE_ENV,
  BROKER_URL_ENV,
  createKeyServiceClient,
  type KeyServiceClient,
  openState,
  requestWorkloadCertificate,
} from "@confspace/ekm-tls";
import { child, fail, object, optionalString, type Plain, string, url } from "../internal/config-reader.js";
import type { ReferenceScheme } from "./reference-scheme.js";

/** The `keyService:` section: where the key service and the broker that certifies this workload are. */
export interface KeyServiceSectionConfig {
  /** The key service's `https:` origin, e.g. `https://broker.example:8200`. Required. */
  url: string;
  /** The token broker that issues the workload certificate. Default: env `CONFSPACE_BROKER_URL`. */
  brokerUrl?: string;
  /** The broker's attestation audience. Default: env `CONFSPACE_BROKER_AUDIENCE`. */
  audience?: string;
  /** PEM CA file for the broker's and the key service's server certificates. Default: Node's CAs. */
  caFile?: string;
  /** Transit mount of the key service. Default `transit`. */
  mountPath?: string;
}

/** A parsed `broker-datakey` entry. */
export interface BrokerDatakeyReference {
  /** The key service key the state was sealed under. */
  key: string;
  /** The sealed state (JSON text), or a file holding it. */
  sealed: { text: string } | { file: string };
  /** The `context` it was sealed with. Default none. */
  context?: string;
}

const KEY_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function parseSection(value: unknown, path: string): KeyServiceSectionConfig {
  const o = object(value, path, ["url", "brokerUrl", "audience", "caFile", "mountPath"]);
  const config: KeyServiceSectionConfig = { url: url(o.url, child(path, "url")) };
  if (!config.url.startsWith("https:")) fail(child(path, "url"), "must be an https: URL (mutual TLS)");
  if (o.brokerUrl !== undefined) config.brokerUrl = url(o.brokerUrl, child(path, "brokerUrl"));
  for (const key of ["audience", "caFile", "mountPath"] as const) {
    const v = optionalString(o[key], child(path, key));
    if (v !== undefined) config[key] = v;
  }
  return config;
}

/** The `broker-datakey` reference scheme. */
export const brokerDatakeyScheme: ReferenceScheme<KeyServiceSectionConfig, BrokerDatakeyReference> = {
  name: "broker-datakey",
  section: { key: "keyService", parse: parseSection },
  fields: ["key", "sealed", "sealedFile", "context"],
  parseReference(entry: Plain, path: string, section) {
    if (section === undefined) fail(child(path, "from"), "broker-datakey needs a keyService: section (url, …)");
    const key = string(
      entry.key,
      child(path, "key"),
      KEY_NAME,
      "must be a key service key name (1-128 of A-Z a-z 0-9 _ . -)",
    );
    if ((entry.sealed === undefined) === (entry.sealedFile === undefined)) {
      fail(path, "needs exactly one of sealed (the sealed state's JSON) and sealedFile");
    }
    const sealed =
      entry.sealed !== undefined
        ? { text: string(entry.sealed, child(path, "sealed")) }
        : { file: string(entry.sealedFile, child(path, "sealedFile"), /^\//, "must be an absolute path") };
    const context = optionalString(entry.context, child(path, "context"));
    return { key, sealed, ...(context !== undefined && { context }) };
  },
  open(section) {
    const config = section as KeyServiceSectionConfig;
    let client: Promise<KeyServiceClient> | undefined;
    const connect = async (signal: AbortSignal): Promise<KeyServiceClient> => {
      const ca = config.caFile === undefined ? undefined : await readFile(config.caFile, "utf8");
      const brokerUrl = config.brokerUrl ?? process.env[BROKER_URL_ENV];
      const audience = config.audience ?? process.env[BROKER_AUDIENCE_ENV];
      if (!brokerUrl || !audience) {
        throw new Error(
          `keyService needs the broker that certifies this workload: set brokerUrl and audience, or ${BROKER_URL_ENV} and ${BROKER_AUDIENCE_ENV}`,
        );
      }
      const certificate = await requestWorkloadCertificate({
        brokerUrl,
        audience,
        signal,
        ...(ca !== undefined && { tls: { ca } }),
      });
      return createKeyServiceClient({
        url: config.url,
        certificate: certificate.certificatePem,
        privateKey: certificate.privateKey,
        ...(ca !== undefined && { ca }),
        ...(config.mountPath !== undefined && { mountPath: config.mountPath }),
      });
    };
    return {
      async resolve(reference, signal) {
        // One certificate and one client for every broker-datakey secret of a start.
        client ??= connect(signal);
        client.catch(() => {});
        const keys = await client;
        const blob = "text" in reference.sealed ? reference.sealed.text : await readFile(reference.sealed.file);
        return openState(keys, reference.key, blob, {
          signal,
          ...(reference.context !== undefined && { context: reference.context }),
        });
      },
      async close() {
        const keys = await client?.catch(() => undefined);
        keys?.close();
      },
    };
  },
};
