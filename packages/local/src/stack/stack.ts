import { InvalidOptionError } from "@confspace/core";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { createTestPki, trustCaInProcess } from "../tls.js";
import { stackEnv } from "./env.js";
import { startAwsServices } from "./internal/aws.js";
import { startAzureServices } from "./internal/azure.js";
import { type BrokerPart, startLocalBroker } from "./internal/broker.js";
import { startGcpServices } from "./internal/gcp.js";
import { startVaultService } from "./internal/vault.js";
import { parseServices } from "./services.js";
import type { LocalStack, LocalStackOptions } from "./stack-types.js";

const OPTIONS = new Set(["services", "log", "emulator", "broker", "azure", "aws", "gcp", "vault"]);

/**
 * **Development only.** Starts, on loopback, a throwaway CA, the Confidential Space emulator
 * and the requested services: `azure` (local Entra, Azurite when installed, and the broker),
 * `aws` (local STS and S3, and the broker), `gcp` (local STS, IAM Credentials and KMS),
 * `vault` (real OpenBao, from BAO_BIN, VAULT_BIN, `.tools/bin/bao` or PATH). Every policy
 * approves the emulator's image only. Trusts the CA in this process until `stop()`. On a
 * failure stops what started and rethrows.
 *
 * @example
 * ```ts
 * import { startLocalStack } from "@confspace/local";
 *
 * await using stack = await startLocalStack({ services: ["aws"] });
 * console.log(stack.env.CONFSPACE_BROKER_URL, stack.aws?.bucket);
 * ```
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionError("options", "startLocalStack() takes an options object with `services`.");
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new InvalidOptionError(key, `startLocalStack(): unknown option ${key}.`);
  }
  const services = parseServices(options.services ?? [], "services");
  const log = options.log ?? ((line: string) => console.log(line));
  const closers: Array<() => unknown> = [];
  const track = (close: () => unknown) => void closers.push(close);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {});
    })();
    return stopped;
  };
  try {
    const pki = await createTestPki();
    track(() => pki.cleanup());
    // The local servers' certificates chain to this CA; the broker (to Entra) and in-process apps must trust it.
    track(trustCaInProcess(pki.caPem));
    log(`throwaway CA ${pki.caPath} (development only: never trust it anywhere else)`);

    const emulator: Emulator = await startEmulator(options.emulator);
    track(() => emulator.stop());
    const imageDigest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
    log(`Confidential Space emulator: launcher socket ${emulator.socketPath}, issuer ${emulator.issuer}`);
    log(`  workload image digest ${imageDigest}`);
    const input = { issuer: emulator.issuer, imageDigest };

    const has = (s: string) => services.includes(s as never);
    const azure = has("azure") ? await startAzureServices(pki, options.azure ?? {}, track, log) : undefined;
    const aws = has("aws") ? await startAwsServices(input, options.aws ?? {}, track, log) : undefined;
    const gcp = has("gcp") ? await startGcpServices(input, options.gcp ?? {}, track, log) : undefined;
    const vault = has("vault")
      ? await startVaultService({ ...input, role: options.vault?.role !== false }, track, log)
      : undefined;
    const parts: BrokerPart[] = [azure?.broker, aws?.broker].filter((p) => p !== undefined);
    let broker: LocalStack["broker"];
    if (parts.length > 0 && options.broker !== false) {
      const started = await startLocalBroker({ pki, ...input, parts, ...options.broker });
      track(() => started.close());
      broker = { url: started.url, audience: started.audience, requests: started.requests };
      log(`token broker: ${started.url} (TLS 1.3), audience ${started.audience}, approves only the emulator's image`);
    }
    const stack: LocalStack = {
      services,
      pki,
      caPath: pki.caPath,
      emulator,
      imageDigest,
      broker,
      azure: azure && {
        entra: azure.entra,
        tenantId: azure.tenantId,
        clientId: azure.clientId,
        scopes: azure.scopes,
        azurite: azure.azurite,
      },
      aws: aws && {
        sts: aws.sts,
        s3: aws.s3,
        region: aws.region,
        bucket: aws.bucket,
        brokerRoleArn: aws.brokerRoleArn,
        webIdentityRoleArn: aws.webIdentityRoleArn,
        webIdentityAudience: aws.webIdentityAudience,
      },
      gcp,
      vault,
      env: {},
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return Object.assign(stack, { env: stackEnv(stack) });
  } catch (error) {
    await stop();
    throw error;
  }
}
