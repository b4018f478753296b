import type { AssumeRoleWithWebIdentityCommandOutput, STSClient, STSClientConfig } from "@aws-sdk/client-sts";
import {
  type AttestationTokenSource,
  decodeClaims,
  LauncherClient,
  type LauncherClientOptions,
  validateTokenRequest,
} from "@confspace/attestation";
import { type Clock, type Logger, systemClock } from "@confspace/core";
import { AwsCredentialOptionError } from "./errors.js";
import { credentialProvider, type ExpiringAwsIdentity } from "./internal/credential-cache.js";
import { loadSts } from "./internal/load-sts.js";
import { checkDuration, checkRoleArn, checkSessionName } from "./internal/options.js";
import { checkStsCredentials } from "./internal/response.js";
import { toAwsStsError } from "./internal/sts-error.js";
import type { ConfspaceAwsCredentialProvider } from "./provider.js";

/** Options of {@link fromWebIdentity}. */
export interface WebIdentityOptions {
  /** ARN of the role to assume (`arn:aws:iam::ACCOUNT:role/NAME`). Required. */
  roleArn: string;
  /**
   * `aud` of the attestation token: a client ID registered on the AWS IAM OIDC provider
   * for the Confidential Space issuer. Use a value unique to this AWS account (see the
   * README). Required; at most 512 bytes.
   */
  audience: string;
  /**
   * Attestation token type. `"AWS_PRINCIPALTAGS"` (default) adds the
   * `https://aws.amazon.com/tags` claim, which STS turns into session tags that trust
   * policies can check (`aws:RequestTag/...`); `"OIDC"` sends claims only.
   */
  tokenType?: "AWS_PRINCIPALTAGS" | "OIDC";
  /** Image-signature key IDs to include as the `container.signatures.key_ids` principal tag (`AWS_PRINCIPALTAGS` only). Default: none. */
  awsPrincipalTagKeyIds?: readonly string[];
  /** `RoleSessionName`, 2–64 of `[\w+=,.@-]`. Default `confspace-{instance id}` from the token, else `confspace-{ms timestamp}`. */
  sessionName?: string;
  /**
   * `DurationSeconds` requested, seconds. Default: not sent (STS issues 3600). AWS accepts
   * 900 up to the role's `MaxSessionDuration` and refuses (`ValidationError`) anything else.
   */
  durationSeconds?: number;
  /** STS region. Default `clientConfig.region`, then env `AWS_REGION`, then `"us-east-1"`. */
  region?: string;
  /** STS endpoint URL (a VPC endpoint, FIPS, or a local STS). Default: the SDK's for the region. */
  stsEndpoint?: string;
  /** Further `STSClient` configuration (retries, request handler, logger). `credentials` is ignored: the call is unsigned. */
  clientConfig?: Omit<STSClientConfig, "credentials">;
  /**
   * Where attestation tokens come from. Default: a fresh custom token from the launcher
   * for every refresh. A custom source is called with `forceRefresh: true`.
   */
  tokenSource?: AttestationTokenSource;
  /** The launcher client, or its options, used when `tokenSource` is not given. Default: env `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket. */
  launcher?: LauncherClient | LauncherClientOptions;
  /** Start refreshing this long before `expiration`, ms. Default 300 000 (capped at half the lifetime). */
  refreshWindowMs?: number;
  /** Stop handing out credentials this long before `expiration`, ms. Default 30 000 (capped at a tenth of the lifetime). */
  expirySkewMs?: number;
  /** Where refreshes are logged (never a credential). Default: no logging. */
  logger?: Logger;
  /** Time and timers. Default `systemClock`. */
  clock?: Clock;
}

/**
 * AWS credentials for a Confidential Space workload by `AssumeRoleWithWebIdentity`: each
 * refresh requests a fresh custom attestation token (audience = the IAM OIDC provider's
 * client ID) and exchanges it with the AWS SDK's own `STSClient`.
 *
 * @throws {AwsCredentialOptionError} an option is missing or invalid (here, not at call time).
 * @throws {InvalidTokenRequestError} the audience, token type or key IDs break the launcher's limits.
 *
 * The provider rejects with {@link AwsStsError} (STS refused or failed, `awsCode` is AWS's
 * code), {@link AwsCredentialResponseError}, the attestation package's launcher errors,
 * or core's `TokenUnavailableError` while backing off after a failure.
 *
 * @example
 * ```ts
 * const s3 = new S3Client({
 *   region: "eu-west-1",
 *   credentials: fromWebIdentity({ roleArn: "arn:aws:iam::123456789012:role/tee-reader", audience: "https://aws.example.com/confspace/123456789012" }),
 * });
 * ```
 */
export function fromWebIdentity(options: WebIdentityOptions): ConfspaceAwsCredentialProvider {
  const roleArn = checkRoleArn(options.roleArn);
  if (typeof options.audience !== "string" || options.audience === "") {
    throw new AwsCredentialOptionError(
      "audience",
      "fromWebIdentity needs the audience option: the client ID of the AWS IAM OIDC provider.",
    );
  }
  const tokenType = options.tokenType ?? "AWS_PRINCIPALTAGS";
  if (tokenType !== "AWS_PRINCIPALTAGS" && tokenType !== "OIDC") {
    throw new AwsCredentialOptionError("tokenType", 'tokenType must be "AWS_PRINCIPALTAGS" or "OIDC".');
  }
  const request = validateTokenRequest({
    audience: options.audience,
    tokenType,
    awsPrincipalTagKeyIds: options.awsPrincipalTagKeyIds,
  });
  const sessionName = options.sessionName === undefined ? undefined : checkSessionName(options.sessionName);
  const durationSeconds = options.durationSeconds === undefined ? undefined : checkDuration(options.durationSeconds);
  const clock = options.clock ?? systemClock;
  const tokenSource =
    options.tokenSource ??
    launcherSource(
      options.launcher instanceof LauncherClient
        ? options.launcher
        : new LauncherClient({ clock: options.clock, logger: options.logger, ...options.launcher }),
      request,
    );
  const region = options.region ?? options.clientConfig?.region ?? (process.env.AWS_REGION || "us-east-1");
  // The STS client (and the AWS SDK behind it) loads on the first fetch, not here.
  let client: STSClient | undefined;
  const sts = async () => {
    const { AssumeRoleWithWebIdentityCommand, STSClient } = await loadSts();
    client ??= new STSClient({
      ...options.clientConfig,
      region,
      ...(options.stsEndpoint === undefined ? {} : { endpoint: options.stsEndpoint }),
    });
    return { client, AssumeRoleWithWebIdentityCommand };
  };
  const where = options.stsEndpoint ?? `region ${String(region)}`;

  return credentialProvider({
    name: `AWS credentials for ${roleArn}`,
    fields: { roleArn },
    refreshWindowMs: options.refreshWindowMs,
    expirySkewMs: options.expirySkewMs,
    clock: options.clock,
    logger: options.logger,
    onDispose: () => client?.destroy(),
    fetch: async ({ signal }): Promise<ExpiringAwsIdentity> => {
      const token = await tokenSource.getToken({ forceRefresh: true, signal });
      const { client, AssumeRoleWithWebIdentityCommand } = await sts();
      let output: AssumeRoleWithWebIdentityCommandOutput;
      try {
        output = await client.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: roleArn,
            RoleSessionName: sessionName ?? defaultSessionName(token, clock),
            WebIdentityToken: token,
            DurationSeconds: durationSeconds,
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw toAwsStsError(error, "AssumeRoleWithWebIdentity", roleArn, where);
      }
      return checkStsCredentials(output, roleArn, clock);
    },
  });
}

function launcherSource(
  launcher: LauncherClient,
  request: ReturnType<typeof validateTokenRequest>,
): AttestationTokenSource {
  return {
    // A fresh token per refresh: STS sees a token minted for this exchange, never a cached one.
    getToken: ({ signal } = {}) =>
      launcher.requestToken({
        audience: request.audience,
        tokenType: request.tokenType,
        awsPrincipalTagKeyIds: request.awsPrincipalTagKeyIds,
        signal,
      }),
  };
}

/** `confspace-{instance id}` from the (untrusted, naming only) token claims, else a timestamp. */
function defaultSessionName(token: string, clock: Clock): string {
  let instanceId: unknown;
  try {
    instanceId = decodeClaims(token).submods?.gce?.instance_id;
  } catch {
    instanceId = undefined;
  }
  const suffix =
    typeof instanceId === "string" && /^[\w+=,.@-]{1,54}$/.test(instanceId) ? instanceId : String(clock.now());
  return `confspace-${suffix}`;
}
