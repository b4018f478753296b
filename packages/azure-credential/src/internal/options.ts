import { type AttestationTokenSource, LauncherClient, validateTokenRequest } from "@confspace/attestation";
import { type Clock, type Logger, noopLogger, optionOrEnv, redactingLogger, systemClock } from "@confspace/core";
import { type BoundTlsOptions, BROKER_AUDIENCE_ENV, BROKER_URL_ENV, type BrokerTokenType } from "@confspace/ekm-tls";
import type { BrokerCredentialOptions } from "../broker-credential.js";
import { AzureCredentialOptionError } from "../errors.js";

/** Options with defaults and environment applied, checked. */
export interface ResolvedOptions {
  brokerUrl: string;
  audience: string;
  tls: BoundTlsOptions;
  tokenType: BrokerTokenType;
  tenantId: string | undefined;
  timeoutMs: number;
  source: { tokenSource: AttestationTokenSource } | { launcher: LauncherClient };
  logger: Logger;
  clock: Clock;
}

const MAX_TIMEOUT_MS = 2_147_483_647;

export function resolveOptions(
  options: BrokerCredentialOptions,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedOptions {
  if (options === null || typeof options !== "object") {
    throw new AzureCredentialOptionError("options", "options must be an object (or omitted)");
  }
  const brokerUrl = optionOrEnv(options.brokerUrl, BROKER_URL_ENV, env)?.value;
  if (brokerUrl === undefined) {
    throw new AzureCredentialOptionError(
      "brokerUrl",
      `No token broker configured: pass brokerUrl or set ${BROKER_URL_ENV} (e.g. https://broker.example:8443)`,
      BROKER_URL_ENV,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(brokerUrl);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    url.protocol !== "https:" ||
    url.pathname !== "/" ||
    url.search ||
    url.hash ||
    url.username
  ) {
    throw new AzureCredentialOptionError(
      "brokerUrl",
      `brokerUrl (or ${BROKER_URL_ENV}) must be an https: origin such as https://broker.example:8443, without path or query`,
      BROKER_URL_ENV,
    );
  }
  const audience = optionOrEnv(options.audience, BROKER_AUDIENCE_ENV, env)?.value;
  if (audience === undefined) {
    throw new AzureCredentialOptionError(
      "audience",
      `No broker audience configured: pass audience or set ${BROKER_AUDIENCE_ENV} to the broker's attestation.audience`,
      BROKER_AUDIENCE_ENV,
    );
  }
  const tokenType = options.tokenType ?? "OIDC";
  if (tokenType !== "OIDC" && tokenType !== "PKI") {
    throw new AzureCredentialOptionError(
      "tokenType",
      'tokenType must be "OIDC" or "PKI", as the broker\'s attestation.tokenType',
    );
  }
  // The launcher's limits on the audience (≤ 512 bytes, not the STS audience): fail here, not at the first call.
  validateTokenRequest({ audience, tokenType });

  const tls: BoundTlsOptions = {};
  if (options.ca !== undefined) tls.ca = options.ca;
  if (options.clientCertificate !== undefined) {
    const { cert, key } = options.clientCertificate ?? {};
    if (!cert || !key) {
      throw new AzureCredentialOptionError("clientCertificate", "clientCertificate needs both cert and key (PEM)");
    }
    tls.cert = cert;
    tls.key = key;
  }
  const tenantId = options.tenantId;
  if (tenantId !== undefined && (typeof tenantId !== "string" || !/^[A-Za-z0-9.-]{1,256}$/.test(tenantId))) {
    throw new AzureCredentialOptionError("tenantId", "tenantId must be a tenant id (GUID) or domain name");
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new AzureCredentialOptionError("timeoutMs", "timeoutMs must be a positive number of milliseconds");
  }
  if (options.tokenSource !== undefined && options.launcherSocket !== undefined) {
    throw new AzureCredentialOptionError("tokenSource", "pass tokenSource or launcherSocket, not both");
  }
  if (options.tokenSource !== undefined && typeof options.tokenSource.getToken !== "function") {
    throw new AzureCredentialOptionError("tokenSource", "tokenSource must have a getToken({ nonces }) method");
  }
  const logger = options.logger === undefined ? noopLogger : redactingLogger(options.logger);
  const source =
    options.tokenSource !== undefined
      ? { tokenSource: options.tokenSource }
      : { launcher: new LauncherClient({ socketPath: options.launcherSocket, logger: options.logger }) };
  return {
    brokerUrl: url.origin,
    audience,
    tls,
    tokenType,
    tenantId,
    timeoutMs,
    source,
    logger,
    clock: options.clock ?? systemClock,
  };
}
