import { type AttestationTokenSource, LauncherClient, type LauncherClientOptions } from "@confspace/attestation";
import { type Clock, type Logger, requireOptionOrEnv, systemClock } from "@confspace/core";
import {
  type AwsTokenRequestBody,
  type BoundTlsOptions,
  BROKER_AUDIENCE_ENV,
  BROKER_URL_ENV,
  type BrokerTokenType,
  requestBrokerCredential,
} from "@confspace/ekm-tls";
import { AwsCredentialOptionError } from "./errors.js";
import { credentialProvider, type ExpiringAwsIdentity } from "./internal/credential-cache.js";
import { checkBrokerDuration, checkBrokerSessionName, checkRoleArn } from "./internal/options.js";
import { checkBrokerCredentials } from "./internal/response.js";
import type { ConfspaceAwsCredentialProvider } from "./provider.js";

/** Options of {@link fromBroker}. */
export interface BrokerOptions {
  /** The broker's URL, `https://broker.example:8443`. Default: env `CONFSPACE_BROKER_URL`; one of the two is required. */
  brokerUrl?: string | URL;
  /** The broker's attestation audience (its `attestation.audience`; also the TLS exporter context). Default: env `CONFSPACE_BROKER_AUDIENCE`; one of the two is required. */
  audience?: string;
  /** The role to ask for (`arn:aws:iam::ACCOUNT:role/NAME`). The broker's grant must list it. Required. */
  roleArn: string;
  /**
   * Suffix of the `RoleSessionName`: the broker names the session `{project number}-{instance id}`
   * from the verified token and appends `.` and this; 1–31 of `[\w+=,.@-]` (longer would not fit
   * AWS's 64 with a 12-digit project number and a 19-digit instance id). Default: none.
   */
  sessionName?: string;
  /** Session length to ask for, seconds, 900–43 200. The broker clamps it to its grant's maximum. Default: the grant's maximum. */
  durationSeconds?: number;
  /** CA certificate(s), PEM, for the broker's certificate. Default: Node's root CAs. */
  ca?: BoundTlsOptions["ca"];
  /** Client certificate and key, PEM, when the broker requires mutual TLS. Default: none. */
  clientCertificate?: { cert: BoundTlsOptions["cert"]; key: BoundTlsOptions["key"] };
  /** Further TLS options (`servername`, …). Always TLS 1.3. Default: none. */
  tls?: BoundTlsOptions;
  /** Attestation token format the broker verifies (its `attestation.tokenType`). Default `"OIDC"`. */
  tokenType?: BrokerTokenType;
  /** Where the connection-bound attestation tokens come from (called with `nonces`). Default: the launcher. */
  tokenSource?: AttestationTokenSource;
  /** The launcher client or its options, used when `tokenSource` is not given. Default: env `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket. */
  launcher?: LauncherClient | LauncherClientOptions;
  /** Time for one broker exchange (connect, token, reply), ms. Default 30 000. */
  timeoutMs?: number;
  /** Start refreshing this long before `expiration`, ms. Default 300 000 (capped at half the lifetime). */
  refreshWindowMs?: number;
  /** Stop handing out credentials this long before `expiration`, ms. Default 30 000 (capped at a tenth of the lifetime). */
  expirySkewMs?: number;
  /** Where refreshes are logged (never a credential). Default: no logging. */
  logger?: Logger;
  /** Time and timers. Default `systemClock`. */
  clock?: Clock;
  /** Where `CONFSPACE_BROKER_URL` and `CONFSPACE_BROKER_AUDIENCE` are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * AWS credentials for a Confidential Space workload from the confspace token broker:
 * each refresh opens an EKM-bound TLS 1.3 connection, sends a connection-bound
 * attestation token with `{"provider": "aws", "role_arn", "session_name",
 * "duration_seconds"}`, and returns the broker's session. The broker decides whether
 * this workload may have the role, and for how long.
 *
 * @throws {AwsCredentialOptionError} the broker URL or audience is missing (naming the option and the
 *   environment variable), or another option is invalid.
 *
 * The provider rejects with `BrokerError` from `@confspace/ekm-tls` (`ERR_BROKER_DENIED` for 401/403,
 * `ERR_BROKER_UNAVAILABLE`, `ERR_BROKER_RATE_LIMITED`, `ERR_BROKER_TLS`, …),
 * {@link AwsCredentialResponseError}, the launcher's errors, or core's `TokenUnavailableError`
 * while backing off after a failure.
 *
 * @example
 * ```ts
 * // CONFSPACE_BROKER_URL=https://broker.example:8443 CONFSPACE_BROKER_AUDIENCE=https://broker.example
 * const s3 = new S3Client({ region: "eu-west-1", credentials: fromBroker({ roleArn: "arn:aws:iam::123456789012:role/reader" }) });
 * ```
 */
export function fromBroker(options: BrokerOptions): ConfspaceAwsCredentialProvider {
  const env = options.env ?? process.env;
  const brokerUrl = requireOptionOrEnv(
    "brokerUrl",
    options.brokerUrl === undefined ? undefined : String(options.brokerUrl),
    BROKER_URL_ENV,
    { env, missing: "fromBroker needs the broker's URL", error: AwsCredentialOptionError },
  ).value;
  if (!URL.canParse(String(brokerUrl)) || new URL(brokerUrl).protocol !== "https:") {
    throw new AwsCredentialOptionError(
      "brokerUrl",
      "brokerUrl must be an https: URL such as https://broker.example:8443.",
      BROKER_URL_ENV,
    );
  }
  const audience = requireOptionOrEnv("audience", options.audience, BROKER_AUDIENCE_ENV, {
    env,
    missing: "fromBroker needs the broker's attestation audience",
    error: AwsCredentialOptionError,
  }).value;
  const roleArn = checkRoleArn(options.roleArn);
  const sessionName = options.sessionName === undefined ? undefined : checkBrokerSessionName(options.sessionName);
  const durationSeconds =
    options.durationSeconds === undefined ? undefined : checkBrokerDuration(options.durationSeconds);
  if (options.tokenSource !== undefined && options.launcher !== undefined) {
    throw new AwsCredentialOptionError("tokenSource", "Pass tokenSource or launcher, not both.");
  }
  const clock = options.clock ?? systemClock;
  const launcher =
    options.tokenSource !== undefined
      ? undefined
      : options.launcher instanceof LauncherClient
        ? options.launcher
        : new LauncherClient({ clock: options.clock, logger: options.logger, ...options.launcher });
  const tls: BoundTlsOptions = {
    ...options.tls,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.clientCertificate === undefined ? {} : options.clientCertificate),
  };
  const body: AwsTokenRequestBody = {
    provider: "aws",
    role_arn: roleArn,
    ...(sessionName === undefined ? {} : { session_name: sessionName }),
    ...(durationSeconds === undefined ? {} : { duration_seconds: durationSeconds }),
  };

  return credentialProvider({
    name: `AWS credentials for ${roleArn} from the broker`,
    fields: { roleArn, broker: new URL(brokerUrl).origin },
    refreshWindowMs: options.refreshWindowMs,
    expirySkewMs: options.expirySkewMs,
    clock: options.clock,
    logger: options.logger,
    fetch: async ({ signal }): Promise<ExpiringAwsIdentity> => {
      const reply = await requestBrokerCredential({
        brokerUrl,
        audience,
        ...(options.tokenSource === undefined ? { launcher } : { tokenSource: options.tokenSource }),
        tokenType: options.tokenType,
        tls,
        body,
        signal,
        timeoutMs: options.timeoutMs,
      });
      return checkBrokerCredentials(reply, roleArn, clock);
    },
  });
}
