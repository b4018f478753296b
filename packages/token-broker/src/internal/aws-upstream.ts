import type { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsUpstreamConfig } from "../config-types.js";
import { BrokerConfigError } from "../errors.js";
import type { BrokerMetrics } from "../metrics.js";
import { raceSignal } from "./abort.js";
import { readCaFile } from "./ca-file.js";
import type { SessionTag } from "./session-tags.js";
import { UpstreamUnavailableError } from "./upstream-error.js";

/** Options of {@link AwsUpstream}. */
export interface AwsUpstreamOptions {
  /** `upstreams.aws`. */
  config: AwsUpstreamConfig;
  /** Where credential environment variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Time for one `AssumeRole` call, ms. Default 10 000. */
  timeoutMs?: number;
  /** Where upstream calls are counted. Default: not counted. */
  metrics?: BrokerMetrics;
}

/** One `AssumeRole` call. */
export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  /** Seconds, already clamped to the grant. */
  durationSeconds: number;
  tags: readonly SessionTag[];
  /** `SourceIdentity` (the role's trust policy must allow `sts:SetSourceIdentity`). Default: none. */
  sourceIdentity?: string;
}

/** Temporary AWS credentials as the broker hands them out. Never logged. */
export interface AwsSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Expiry, ms since the epoch. */
  expiration: number;
}

/**
 * `sts:AssumeRole` with the broker's own AWS credentials.
 *
 * Not cached across requests, by design: session tags carry the workload's verified
 * claims and the session name starts with the verified instance, so two workloads never
 * share a result; caching per workload would mean refreshing credentials for instances that may
 * be gone, or handing out shortened sessions. The workload's credential provider keeps
 * its session until close to `expiration`. Identical requests that arrive while one is in
 * flight share it (single flight), so a retry storm from one workload makes one call.
 */
export class AwsUpstream {
  /**
   * The AWS SDK, imported only when `upstreams.aws` is configured: loaded but unused in a
   * broker serving only Azure it cost ≈ 0.05 ms of CPU per request in `pnpm bench` (not
   * profiled; likely a larger heap to collect), and this module is imported by every broker.
   */
  readonly #sts: Promise<{ client: STSClient; AssumeRole: typeof AssumeRoleCommand }>;
  readonly #inflight = new Map<string, Promise<AwsSession>>();
  readonly #timeoutMs: number;
  readonly #metrics: BrokerMetrics | undefined;
  /** Aborted by `dispose()`: calls in flight stop instead of retrying against a closed client. */
  readonly #disposal = new AbortController();

  /**
   * @throws {BrokerConfigError} a credential environment variable named in
   *   `upstreams.aws.credentials` is unset or empty, or `upstreams.aws.caFile` is unreadable.
   */
  constructor(options: AwsUpstreamOptions) {
    const env = options.env ?? process.env;
    const { config } = options;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#metrics = options.metrics;
    let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
    if (config.credentials !== undefined) {
      const read = (field: "accessKeyIdEnv" | "secretAccessKeyEnv" | "sessionTokenEnv") => {
        const name = config.credentials![field];
        if (name === undefined) return undefined;
        const value = env[name];
        if (value === undefined || value === "") {
          throw new BrokerConfigError(`environment variable ${name} is not set`, {
            field: `upstreams.aws.credentials.${field}`,
          });
        }
        return value;
      };
      const sessionToken = read("sessionTokenEnv");
      credentials = {
        accessKeyId: read("accessKeyIdEnv")!,
        secretAccessKey: read("secretAccessKeyEnv")!,
        ...(sessionToken === undefined ? {} : { sessionToken }),
      };
    }
    const ca = config.caFile === undefined ? undefined : readCaFile(config.caFile, "upstreams.aws.caFile");
    const clientConfig = {
      region: config.region,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
      ...(credentials === undefined ? {} : { credentials }),
      maxAttempts: 2,
      requestHandler: {
        requestTimeout: this.#timeoutMs,
        connectionTimeout: Math.min(this.#timeoutMs, 5_000),
        // Agent options: the SDK adds its keep-alive and socket limit to them.
        ...(ca === undefined ? {} : { httpsAgent: { ca } }),
      },
    };
    this.#sts = import("@aws-sdk/client-sts").then((sdk) => ({
      client: new sdk.STSClient(clientConfig),
      AssumeRole: sdk.AssumeRoleCommand,
    }));
    // A failed import surfaces in each call (UpstreamUnavailableError), not as an unhandled rejection.
    this.#sts.catch(() => {});
  }

  /**
   * Assumes `roleArn` with the given session name, duration and tags.
   *
   * @throws {UpstreamUnavailableError} STS failed (unreachable, throttled, refused the broker).
   */
  assumeRole(input: AssumeRoleInput, signal?: AbortSignal): Promise<AwsSession> {
    const key = JSON.stringify([
      input.roleArn,
      input.sessionName,
      input.durationSeconds,
      input.tags,
      input.sourceIdentity ?? null,
    ]);
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#call(input).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    // A caller that gives up does not cancel the shared call: others may be waiting on it.
    return raceSignal(pending, signal);
  }

  /** Aborts calls in flight and closes the STS client's connections. */
  dispose(): void {
    this.#disposal.abort(new Error("the broker is shutting down"));
    this.#sts.then(
      ({ client }) => client.destroy(),
      () => {},
    );
  }

  async #call(input: AssumeRoleInput): Promise<AwsSession> {
    const started = performance.now();
    try {
      const { client, AssumeRole } = await this.#sts;
      const output = await client.send(
        new AssumeRole({
          RoleArn: input.roleArn,
          RoleSessionName: input.sessionName,
          DurationSeconds: input.durationSeconds,
          ...(input.sourceIdentity === undefined ? {} : { SourceIdentity: input.sourceIdentity }),
          ...(input.tags.length === 0 ? {} : { Tags: input.tags.map((tag) => ({ Key: tag.Key, Value: tag.Value })) }),
        }),
        { abortSignal: AbortSignal.any([this.#disposal.signal, AbortSignal.timeout(this.#timeoutMs)]) },
      );
      const c = output.Credentials;
      if (
        c?.AccessKeyId === undefined ||
        c.SecretAccessKey === undefined ||
        c.SessionToken === undefined ||
        !(c.Expiration instanceof Date) ||
        Number.isNaN(c.Expiration.getTime())
      ) {
        throw new Error("AssumeRole returned no complete credentials");
      }
      this.#metrics?.observeUpstream("aws", "ok", (performance.now() - started) / 1000);
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration.getTime(),
      };
    } catch (error) {
      this.#metrics?.observeUpstream("aws", "error", (performance.now() - started) / 1000);
      throw new UpstreamUnavailableError("AWS STS did not issue credentials; retry later", {
        provider: "aws",
        cause: error,
        retryAfterMs: isThrottling(error) ? 30_000 : 5_000,
      });
    }
  }
}

function isThrottling(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === "Throttling" || name === "ThrottlingException" || name === "RequestLimitExceeded";
}
