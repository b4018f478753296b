// The broker's own sections of the configuration: listen, tls, attestation, limits, metrics.
// Providers' and services' sections are read by their owners (providers/*.ts).
import type { AttestationConfig, BrokerConfig, LimitsConfig, MetricsConfig, TlsConfig } from "../config-types.js";
import { readPolicy } from "./claim-rules.js";
import {
  compact,
  fail,
  integer,
  object,
  oneOf,
  optionalBoolean,
  optionalInteger,
  optionalString,
  positiveNumber,
  string,
} from "./config-reader.js";
import { HTTP_URL } from "./config-rules.js";

export function readMetrics(value: unknown, path: string): boolean | MetricsConfig | undefined {
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

export function readListen(value: unknown, path: string): BrokerConfig["listen"] {
  const o = object(value, path, ["host", "port"]);
  return compact({
    host: optionalString(o.host, `${path}.host`, { maxLength: 255 }),
    port: optionalInteger(o.port, `${path}.port`, 0, 65535),
  });
}

export function readTls(value: unknown, path: string): TlsConfig {
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

export function readAttestation(value: unknown, path: string): AttestationConfig {
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
            "is required: pin the workloads (imageDigests, imageSignatures, or projectIds/projectNumbers with serviceAccounts), or set allowAnyWorkload: true",
          )
        : readPolicy(o.policy, `${path}.policy`),
  });
}

export function readLimits(value: unknown, path: string): LimitsConfig {
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
