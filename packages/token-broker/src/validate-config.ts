import type {
  AttestationConfig,
  AwsGrant,
  AwsUpstreamConfig,
  AzureGrant,
  AzureTenantConfig,
  BrokerConfig,
  GrantConfig,
  LimitsConfig,
  MetricsConfig,
  TlsConfig,
  UpstreamsConfig,
} from "./config-types.js";
import { readGrantMatch, readPolicy } from "./internal/claim-rules.js";
import {
  child,
  compact,
  fail,
  integer,
  list,
  object,
  oneOf,
  optionalBoolean,
  optionalInteger,
  optionalString,
  positiveNumber,
  record,
  type StringRules,
  string,
  stringList,
} from "./internal/config-reader.js";
import { CLAIM_PATH, checkTagKey, MAX_SESSION_TAGS } from "./internal/session-tags.js";

const ENV_NAME: StringRules = {
  pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
  patternMessage: "must be an environment variable name",
  maxLength: 256,
};
const HTTPS_URL: StringRules = {
  pattern: /^https:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/,
  patternMessage: "must be an https URL",
};
const HTTP_URL: StringRules = {
  pattern: /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/,
  patternMessage: "must be an http(s) URL",
};
const NAME: StringRules = {
  pattern: /^[A-Za-z0-9_.-]{1,64}$/,
  patternMessage: "must be 1–64 letters, digits, '_', '.', '-'",
};
const SCOPE: StringRules = {
  pattern: /^[\x21-\x7e]+\/\.default$/,
  patternMessage: 'must be "{resource}/.default", the form the client-credentials grant accepts',
  maxLength: 1024,
};
const ROLE_ARN: StringRules = {
  pattern: /^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role(?:\/[\w+=,.@-]+)+$/,
  patternMessage: "must be an IAM role ARN (arn:aws:iam::123456789012:role/name)",
};
const SECRET_HINTS = {
  clientSecret: "secrets are never inline: name the environment variable holding it with clientSecretEnv",
  accessKeyId: "secrets are never inline: use accessKeyIdEnv",
  secretAccessKey: "secrets are never inline: use secretAccessKeyEnv",
  sessionToken: "secrets are never inline: use sessionTokenEnv",
};

/**
 * Checks a broker configuration (parsed YAML/JSON or an object built in code) and returns
 * a clean copy. Unknown fields are errors, so a typo never silently drops a rule.
 *
 * Checked here: types, formats (image digests, role ARNs, scopes, URLs, environment
 * variable names, session tag keys), that every grant's tenant exists and AWS grants have
 * `upstreams.aws`. Not checked here: that files and environment variables exist — that
 * happens when the broker starts.
 *
 * @throws {BrokerConfigError} naming the first bad field, e.g. `grants[1].azure[0].scopes`.
 */
export function validateBrokerConfig(value: unknown): BrokerConfig {
  const root = object(value, "", ["listen", "tls", "attestation", "upstreams", "grants", "limits", "metrics"]);
  const upstreams = root.upstreams === undefined ? undefined : readUpstreams(root.upstreams, "upstreams");
  const grants = list(root.grants, "grants", (item, path) => readGrant(item, path, upstreams));
  const names = new Set<string>();
  grants.forEach((grant, index) => {
    if (names.has(grant.name)) fail(`grants[${index}].name`, "is used by an earlier grant; names must be unique");
    names.add(grant.name);
  });
  return compact({
    listen: root.listen === undefined ? undefined : readListen(root.listen, "listen"),
    tls: readTls(root.tls, "tls"),
    attestation: readAttestation(root.attestation, "attestation"),
    upstreams,
    grants,
    limits: root.limits === undefined ? undefined : readLimits(root.limits, "limits"),
    metrics: readMetrics(root.metrics, "metrics"),
  });
}

function readMetrics(value: unknown, path: string): boolean | MetricsConfig | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(path, "must be true, false or { host, port }");
  }
  const o = object(value, path, ["host", "port"]);
  return compact({
    host: optionalString(o.host, `${path}.host`, { maxLength: 255 }),
    port: optionalInteger(o.port, `${path}.port`, 0, 65535),
  });
}

function readListen(value: unknown, path: string): BrokerConfig["listen"] {
  const o = object(value, path, ["host", "port"]);
  return compact({
    host: optionalString(o.host, `${path}.host`, { maxLength: 255 }),
    port: optionalInteger(o.port, `${path}.port`, 0, 65535),
  });
}

function readTls(value: unknown, path: string): TlsConfig {
  if (value === undefined) fail(path, "is required (the broker terminates TLS 1.3 itself)");
  const o = object(value, path, ["certFile", "keyFile", "clientCaFile", "requireClientCertificate"], {
    minVersion: "always TLS 1.3; not configurable",
  });
  const tls = compact({
    certFile: string(o.certFile, `${path}.certFile`),
    keyFile: string(o.keyFile, `${path}.keyFile`),
    clientCaFile: optionalString(o.clientCaFile, `${path}.clientCaFile`),
    requireClientCertificate: optionalBoolean(o.requireClientCertificate, `${path}.requireClientCertificate`),
  });
  if (tls.requireClientCertificate !== undefined && tls.clientCaFile === undefined) {
    fail(`${path}.requireClientCertificate`, "needs clientCaFile (the CA client certificates must chain to)");
  }
  return tls;
}

function readAttestation(value: unknown, path: string): AttestationConfig {
  if (value === undefined) fail(path, "is required");
  const o = object(value, path, [
    "audience",
    "issuer",
    "tokenType",
    "pkiRootFingerprint",
    "jwksUri",
    "clockToleranceSeconds",
    "maxTokenAgeSeconds",
    "policy",
  ]);
  const audience = string(o.audience, `${path}.audience`, { maxLength: 512 });
  if (audience === "https://sts.googleapis.com") {
    fail(`${path}.audience`, "must name the broker; https://sts.googleapis.com is Google STS's audience");
  }
  const tokenType = o.tokenType === undefined ? undefined : oneOf(o.tokenType, `${path}.tokenType`, ["OIDC", "PKI"]);
  const pkiRootFingerprint = optionalString(o.pkiRootFingerprint, `${path}.pkiRootFingerprint`, {
    pattern: /^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/,
    patternMessage: "must be a SHA-256 fingerprint in hex (colons optional)",
  });
  if (tokenType === "PKI" && pkiRootFingerprint === undefined) {
    fail(`${path}.pkiRootFingerprint`, 'is required with tokenType "PKI"');
  }
  if (tokenType !== "PKI" && pkiRootFingerprint !== undefined) {
    fail(`${path}.pkiRootFingerprint`, 'is only used with tokenType "PKI"');
  }
  return compact({
    audience,
    issuer: optionalString(o.issuer, `${path}.issuer`, HTTP_URL),
    tokenType,
    pkiRootFingerprint,
    jwksUri: optionalString(o.jwksUri, `${path}.jwksUri`, HTTP_URL),
    clockToleranceSeconds: optionalInteger(o.clockToleranceSeconds, `${path}.clockToleranceSeconds`, 0, 300),
    maxTokenAgeSeconds: optionalInteger(o.maxTokenAgeSeconds, `${path}.maxTokenAgeSeconds`, 1, 86_400),
    policy:
      o.policy === undefined
        ? fail(
            `${path}.policy`,
            "is required: pin the workloads (imageDigests, projectIds, projectNumbers or serviceAccounts), or set allowAnyWorkload: true",
          )
        : readPolicy(o.policy, `${path}.policy`),
  });
}

function readUpstreams(value: unknown, path: string): UpstreamsConfig {
  const o = object(value, path, ["azure", "aws"]);
  let azure: Record<string, AzureTenantConfig> | undefined;
  if (o.azure !== undefined) {
    const tenants = record(o.azure, `${path}.azure`);
    if (Object.keys(tenants).length === 0) fail(`${path}.azure`, "must name at least one tenant (or be omitted)");
    // fromEntries defines own properties: a tenant named "__proto__" cannot reach the prototype.
    azure = Object.fromEntries(
      Object.entries(tenants).map(([name, tenant]) => {
        const tenantPath = child(`${path}.azure`, name);
        string(name, tenantPath, NAME);
        return [name, readAzureTenant(tenant, tenantPath)];
      }),
    );
  }
  return compact({ azure, aws: o.aws === undefined ? undefined : readAws(o.aws, `${path}.aws`) });
}

function readAzureTenant(value: unknown, path: string): AzureTenantConfig {
  const o = object(
    value,
    path,
    [
      "tenantId",
      "clientId",
      "clientSecretEnv",
      "clientCertificateFile",
      "sendCertificateChain",
      "authorityHost",
      "caFile",
    ],
    SECRET_HINTS,
  );
  const tenant = compact({
    tenantId: string(o.tenantId, `${path}.tenantId`, {
      pattern: /^[A-Za-z0-9.-]{1,256}$/,
      patternMessage: "must be a tenant GUID or domain",
    }),
    clientId: string(o.clientId, `${path}.clientId`, {
      pattern: /^[A-Za-z0-9-]{1,128}$/,
      patternMessage: "must be an application (client) id",
    }),
    clientSecretEnv: optionalString(o.clientSecretEnv, `${path}.clientSecretEnv`, ENV_NAME),
    clientCertificateFile: optionalString(o.clientCertificateFile, `${path}.clientCertificateFile`),
    sendCertificateChain: optionalBoolean(o.sendCertificateChain, `${path}.sendCertificateChain`),
    authorityHost: optionalString(o.authorityHost, `${path}.authorityHost`, HTTPS_URL),
    caFile: optionalString(o.caFile, `${path}.caFile`),
  });
  if ((tenant.clientSecretEnv === undefined) === (tenant.clientCertificateFile === undefined)) {
    fail(path, "needs exactly one of clientSecretEnv and clientCertificateFile");
  }
  if (tenant.sendCertificateChain !== undefined && tenant.clientCertificateFile === undefined) {
    fail(`${path}.sendCertificateChain`, "needs clientCertificateFile");
  }
  return tenant;
}

function readAws(value: unknown, path: string): AwsUpstreamConfig {
  const o = object(value, path, ["region", "endpoint", "caFile", "credentials"], SECRET_HINTS);
  let credentials: AwsUpstreamConfig["credentials"];
  if (o.credentials !== undefined) {
    const c = object(
      o.credentials,
      `${path}.credentials`,
      ["accessKeyIdEnv", "secretAccessKeyEnv", "sessionTokenEnv"],
      SECRET_HINTS,
    );
    credentials = compact({
      accessKeyIdEnv: string(c.accessKeyIdEnv, `${path}.credentials.accessKeyIdEnv`, ENV_NAME),
      secretAccessKeyEnv: string(c.secretAccessKeyEnv, `${path}.credentials.secretAccessKeyEnv`, ENV_NAME),
      sessionTokenEnv: optionalString(c.sessionTokenEnv, `${path}.credentials.sessionTokenEnv`, ENV_NAME),
    });
  }
  return compact({
    region: string(o.region, `${path}.region`, { pattern: /^[a-z0-9-]{1,32}$/, patternMessage: "must be a region" }),
    endpoint: optionalString(o.endpoint, `${path}.endpoint`, HTTP_URL),
    caFile: optionalString(o.caFile, `${path}.caFile`),
    credentials,
  });
}

function readGrant(value: unknown, path: string, upstreams: UpstreamsConfig | undefined): GrantConfig {
  const o = object(value, path, ["name", "match", "azure", "aws"]);
  const name = string(o.name, `${path}.name`, NAME);
  if (o.match === undefined) fail(`${path}.match`, "is required (which workloads this grant is for)");
  const match = readGrantMatch(o.match, `${path}.match`);
  if (o.azure === undefined && o.aws === undefined) fail(path, "must give azure scopes or aws roles");
  const azure = o.azure === undefined ? undefined : list(o.azure, `${path}.azure`, readAzureGrant);
  azure?.forEach((entry, index) => {
    if (upstreams?.azure === undefined || !Object.hasOwn(upstreams.azure, entry.tenant)) {
      fail(`${path}.azure[${index}].tenant`, "names no tenant of upstreams.azure");
    }
  });
  const aws = o.aws === undefined ? undefined : list(o.aws, `${path}.aws`, readAwsGrant);
  if (aws !== undefined && upstreams?.aws === undefined) fail(`${path}.aws`, "needs upstreams.aws");
  const roles = new Set<string>();
  aws?.forEach((entry, index) => {
    if (roles.has(entry.roleArn)) fail(`${path}.aws[${index}].roleArn`, "is listed twice in this grant");
    roles.add(entry.roleArn);
  });
  return compact({ name, match, azure, aws });
}

function readAzureGrant(value: unknown, path: string): AzureGrant {
  const o = object(value, path, ["tenant", "scopes"]);
  return {
    tenant: string(o.tenant, `${path}.tenant`, NAME),
    scopes: stringList(o.scopes, `${path}.scopes`, SCOPE),
  };
}

function readAwsGrant(value: unknown, path: string): AwsGrant {
  const o = object(value, path, ["roleArn", "maxDurationSeconds", "setSourceIdentity", "sessionTags"]);
  let sessionTags: Record<string, string> | undefined;
  if (o.sessionTags !== undefined) {
    const tags = record(o.sessionTags, `${path}.sessionTags`);
    const keys = Object.keys(tags);
    if (keys.length === 0) fail(`${path}.sessionTags`, "must not be empty (omit the field instead)");
    if (keys.length > MAX_SESSION_TAGS) fail(`${path}.sessionTags`, `must have at most ${MAX_SESSION_TAGS} tags`);
    const lower = new Set<string>();
    const entries: Array<[string, string]> = [];
    for (const key of keys) {
      const tagPath = child(`${path}.sessionTags`, key);
      const problem = checkTagKey(key);
      if (problem !== undefined) fail(tagPath, problem);
      // AWS compares tag keys case-insensitively: two keys differing in case collide.
      if (lower.has(key.toLowerCase())) fail(tagPath, "differs from another tag key only in case");
      lower.add(key.toLowerCase());
      const claimPath = string(tags[key], tagPath, {
        pattern: CLAIM_PATH,
        patternMessage: "must be a dotted claim path such as submods.container.image_digest",
        maxLength: 256,
      });
      entries.push([key, claimPath]);
    }
    sessionTags = Object.fromEntries(entries);
  }
  return compact({
    roleArn: string(o.roleArn, `${path}.roleArn`, ROLE_ARN),
    maxDurationSeconds: optionalInteger(o.maxDurationSeconds, `${path}.maxDurationSeconds`, 900, 43_200),
    setSourceIdentity: optionalBoolean(o.setSourceIdentity, `${path}.setSourceIdentity`),
    sessionTags,
  });
}

function readLimits(value: unknown, path: string): LimitsConfig {
  const o = object(value, path, [
    "maxBodyBytes",
    "requestTimeoutSeconds",
    "upstreamTimeoutSeconds",
    "shutdownTimeoutSeconds",
    "rateLimit",
    "sourceRateLimit",
    "handshakeTimeoutSeconds",
    "maxConnections",
    "maxConnectionsPerSource",
  ]);
  let rateLimit: LimitsConfig["rateLimit"];
  if (o.rateLimit !== undefined) {
    const r = object(o.rateLimit, `${path}.rateLimit`, ["ratePerSecond", "burst", "per"]);
    rateLimit = compact({
      ratePerSecond:
        r.ratePerSecond === undefined
          ? undefined
          : positiveNumber(r.ratePerSecond, `${path}.rateLimit.ratePerSecond`, 1e6),
      burst: r.burst === undefined ? undefined : integer(r.burst, `${path}.rateLimit.burst`, 1, 1_000_000),
      per:
        r.per === undefined
          ? undefined
          : oneOf(r.per, `${path}.rateLimit.per`, ["instance", "image", "project"] as const),
    });
  }
  let sourceRateLimit: LimitsConfig["sourceRateLimit"];
  if (o.sourceRateLimit !== undefined) {
    const r = object(o.sourceRateLimit, `${path}.sourceRateLimit`, ["ratePerSecond", "burst"]);
    sourceRateLimit = compact({
      ratePerSecond:
        r.ratePerSecond === undefined
          ? undefined
          : positiveNumber(r.ratePerSecond, `${path}.sourceRateLimit.ratePerSecond`, 1e6),
      burst: r.burst === undefined ? undefined : integer(r.burst, `${path}.sourceRateLimit.burst`, 1, 1_000_000),
    });
  }
  const maxConnections = optionalInteger(o.maxConnections, `${path}.maxConnections`, 1, 1_000_000);
  const maxConnectionsPerSource = optionalInteger(
    o.maxConnectionsPerSource,
    `${path}.maxConnectionsPerSource`,
    0,
    1_000_000,
  );
  if (maxConnectionsPerSource !== undefined && maxConnectionsPerSource > (maxConnections ?? 512)) {
    fail(`${path}.maxConnectionsPerSource`, "must not exceed maxConnections (default 512)");
  }
  return compact({
    maxBodyBytes: optionalInteger(o.maxBodyBytes, `${path}.maxBodyBytes`, 1024, 1_048_576),
    requestTimeoutSeconds: optionalInteger(o.requestTimeoutSeconds, `${path}.requestTimeoutSeconds`, 1, 300),
    upstreamTimeoutSeconds: optionalInteger(o.upstreamTimeoutSeconds, `${path}.upstreamTimeoutSeconds`, 1, 300),
    shutdownTimeoutSeconds: optionalInteger(o.shutdownTimeoutSeconds, `${path}.shutdownTimeoutSeconds`, 0, 600),
    rateLimit,
    sourceRateLimit,
    handshakeTimeoutSeconds: optionalInteger(o.handshakeTimeoutSeconds, `${path}.handshakeTimeoutSeconds`, 1, 60),
    maxConnections,
    maxConnectionsPerSource,
  });
}
