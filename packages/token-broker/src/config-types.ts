import type { WorkloadPolicy } from "@confspace/policy";
import type { KeyServiceConfig } from "./key-service/config.js";

/**
 * The broker's configuration, as read from a YAML or JSON file by `loadBrokerConfig` or
 * passed to `createBroker`. Field names are camelCase in both. Secrets are never inline:
 * a client secret is named by the environment variable holding it, a certificate by its
 * file path.
 */
export interface BrokerConfig {
  /** Where to listen. Default `{ host: "0.0.0.0", port: 8443 }`. */
  listen?: ListenConfig;
  /** Server certificate and optional client-certificate verification. Required. */
  tls: TlsConfig;
  /** How attestation tokens are verified. Required. */
  attestation: AttestationConfig;
  /** The credentials the broker itself uses to obtain tokens upstream. */
  upstreams?: UpstreamsConfig;
  /** The CA that signs workload client certificates (`provider: "certificate"`). Default: none (no certificates). */
  certificates?: CertificatesConfig;
  /**
   * The attested key service: an OpenBao transit-compatible API on its own mutual-TLS
   * listener for workload certificates of `certificates` (see {@link KeyServiceConfig}).
   * Default: none.
   */
  keyService?: KeyServiceConfig;
  /** Which workloads may obtain which credentials. At least one; each must pin workloads (see {@link GrantMatch}). */
  grants: GrantConfig[];
  /** Request limits, rate limit and timeouts. Defaults below. */
  limits?: LimitsConfig;
  /**
   * `GET /metrics` (Prometheus text format) on its own plain-HTTP listener, never on the
   * token listener. `true` or an object: serve it (default `{ host: "127.0.0.1", port: 9464 }`);
   * `false`: no metrics listener at all. Default `true`.
   */
  metrics?: boolean | MetricsConfig;
}

/** Where `GET /metrics` is served: a separate plain-HTTP listener. */
export interface MetricsConfig {
  /** Interface to bind. Default `"127.0.0.1"` (loopback: only the host or a sidecar can scrape). */
  host?: string;
  /** TCP port, 0 for any free port. Default `9464`. */
  port?: number;
}

/** Listen address. */
export interface ListenConfig {
  /** Interface to bind. Default `"0.0.0.0"`. */
  host?: string;
  /** TCP port, 0 for any free port. Default `8443`. */
  port?: number;
}

/**
 * The broker's TLS server. The version is always TLS 1.3 (the server sets
 * `minVersion: "TLSv1.3"`): the token binding uses TLS exported keying material, which
 * is only safe on TLS 1.3. The broker must terminate TLS itself; a load balancer in front
 * has to be TCP passthrough.
 */
export interface TlsConfig {
  /** PEM certificate chain of the server, leaf first. Required. */
  certFile: string;
  /** PEM private key of the server. Required. */
  keyFile: string;
  /**
   * PEM CA certificate(s) that client certificates must chain to. Setting it turns on
   * mutual TLS. Default: none (no client certificate requested).
   */
  clientCaFile?: string;
  /**
   * With `clientCaFile`: refuse connections without a valid client certificate at the
   * handshake. `false` requests a certificate but still serves clients without one.
   * Default `true`.
   */
  requireClientCertificate?: boolean;
}

/** How attestation tokens are verified (passed to `createAttestationVerifier`). */
export interface AttestationConfig {
  /**
   * The one audience accepted; also the context of the TLS exporter that binds a token to
   * its connection. Use the broker's URL. Required.
   */
  audience: string;
  /** Expected issuer. Default `https://confidentialcomputing.googleapis.com`. */
  issuer?: string;
  /** `"OIDC"` (keys from the issuer's JWKS) or `"PKI"` (x5c chain to a pinned root). Default `"OIDC"`. */
  tokenType?: "OIDC" | "PKI";
  /** SHA-256 fingerprint of the PKI root, hex (colons optional). Required with `tokenType: "PKI"`. */
  pkiRootFingerprint?: string;
  /** JWKS URL to use instead of the discovery document's `jwks_uri`. Default: discovered. */
  jwksUri?: string;
  /** Allowed clock skew, seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Maximum token age (`now - iat`), seconds. Default 3600. */
  maxTokenAgeSeconds?: number;
  /**
   * Policy every token must satisfy before any grant is considered: a `WorkloadPolicy` of
   * `@confspace/policy` (image digests, image signatures M of N, projects, service
   * accounts, hardware, support attributes, debug…), with its secure defaults (production
   * images with `STABLE` support, debug refused). A failure is `401 invalid_token` with the
   * failed `check`. It must pin workloads: `imageDigests`, `imageSignatures`, or
   * `projectIds`/`projectNumbers` with `serviceAccounts`, or `allowAnyWorkload: true`.
   * Required.
   */
  policy: BrokerPolicy;
}

/**
 * The broker's verifier policy: `@confspace/policy`'s `WorkloadPolicy`, the same type as
 * a grant's {@link GrantMatch} and the verifier's `VerificationPolicy`.
 */
export type BrokerPolicy = WorkloadPolicy;

/** Upstream identity providers, by kind. */
export interface UpstreamsConfig {
  /** Microsoft Entra applications, by a name that grants refer to (`grants[].azure[].tenant`). */
  azure?: Record<string, AzureTenantConfig>;
  /** AWS STS. Required when a grant lists AWS roles. */
  aws?: AwsUpstreamConfig;
}

/**
 * One Microsoft Entra application (service principal) the broker authenticates as, with
 * the client-credentials grant. Exactly one of `clientSecretEnv` and
 * `clientCertificateFile`.
 */
export interface AzureTenantConfig {
  /** Directory (tenant) id, a GUID or domain. Required. */
  tenantId: string;
  /** Application (client) id. Required. */
  clientId: string;
  /** Name of the environment variable holding the client secret (never the secret itself). */
  clientSecretEnv?: string;
  /** Path of a PEM file holding the client certificate and its private key. */
  clientCertificateFile?: string;
  /** Send the certificate chain (`x5c`) for subject-name/issuer authentication. Default `false`. */
  sendCertificateChain?: boolean;
  /**
   * Entra authority, https. Default `https://login.microsoftonline.com`. When set, instance
   * discovery is disabled (sovereign clouds, Azure Stack, local test endpoints).
   */
  authorityHost?: string;
  /**
   * Path of a PEM file with the CA certificate(s) that Entra's (or `authorityHost`'s) TLS
   * certificate must chain to, instead of Node's root CAs: for an authority behind a
   * private CA, without a process-wide `NODE_EXTRA_CA_CERTS`. Default: Node's root CAs.
   */
  caFile?: string;
}

/** AWS STS, used for `AssumeRole`. */
export interface AwsUpstreamConfig {
  /** AWS region of the STS endpoint, e.g. `us-east-1`. Required. */
  region: string;
  /** STS endpoint URL (a VPC endpoint, a local test server). Default: the regional endpoint. */
  endpoint?: string;
  /**
   * Path of a PEM file with the CA certificate(s) that the STS endpoint's TLS certificate
   * must chain to, instead of Node's root CAs: for an `endpoint` behind a private CA,
   * without a process-wide `NODE_EXTRA_CA_CERTS`. Default: Node's root CAs.
   */
  caFile?: string;
  /**
   * The broker's own AWS credentials, by environment variable names. Default: the AWS
   * SDK's default chain (environment, web identity such as EKS IRSA, ECS, instance
   * metadata…).
   */
  credentials?: AwsCredentialsEnvConfig;
}

/** Environment variable names holding the broker's AWS credentials. */
export interface AwsCredentialsEnvConfig {
  /** Variable holding the access key id. Required. */
  accessKeyIdEnv: string;
  /** Variable holding the secret access key. Required. */
  secretAccessKeyEnv: string;
  /** Variable holding a session token (temporary credentials). Default: none. */
  sessionTokenEnv?: string;
}

/**
 * Which workloads (`match`) may obtain which credentials (`azure`, `aws`). A workload may
 * obtain a scope or role only if a grant that matches it lists it; matching is exact.
 */
export interface GrantConfig {
  /** Unique name, used in logs and metrics. Required. */
  name: string;
  /** What the workload's verified claims must show. Every field given must hold. */
  match: GrantMatch;
  /** Azure scopes this grant gives, by tenant. */
  azure?: AzureGrant[];
  /** AWS roles this grant gives. */
  aws?: AwsGrant[];
  /** Client certificates this grant gives (`provider: "certificate"`; needs `certificates`). */
  certificate?: CertificateGrant;
}

/**
 * The CA that signs workload client certificates (`provider: "certificate"`), and that the
 * key service's listener trusts for client certificates. Both files are read when the
 * broker starts listening, like the TLS key; the key must be the certificate's.
 */
export interface CertificatesConfig {
  /** PEM file with exactly one CA certificate (basicConstraints CA:TRUE, keyCertSign). Required. */
  caCertFile: string;
  /** PEM file with its private key, unencrypted (RSA ≥ 2048 bits, EC P-256/P-384/P-521 or Ed25519). Required. */
  caKeyFile: string;
}

/**
 * What a grant gives through `provider: "certificate"`: a short-lived client certificate
 * whose subjectAltName names the grant (`urn:confspace:grant:<name>`) and the verified
 * workload (`urn:confspace:workload:<project id>/<zone>/<instance name>`).
 */
export interface CertificateGrant {
  /** Longest certificate lifetime, seconds, 60–86 400; longer requests are capped. Default 3600. */
  maxLifetimeSeconds?: number;
  /** Key-service key names a certificate of this grant may use (1–64 of `A-Za-z0-9_.-`). Default: none. */
  keys?: string[];
  /**
   * DNS names a CSR may ask for in its subjectAltName (exact, lower case; `*.example.com`
   * only matches a CSR asking for exactly `*.example.com`). Default: none (a CSR asking for
   * any is refused).
   */
  dnsNames?: string[];
}

/**
 * Which workloads a grant is for: a `WorkloadPolicy` of `@confspace/policy`, evaluated by
 * the same `evaluatePolicy` as the verifier's policy, so a grant's `match` and
 * `attestation.policy` mean the same thing field for field. Fields combine with AND; a
 * list matches when the claim equals one of its entries exactly; `imageSignatures` needs
 * `threshold` distinct listed keys. The defaults are the policy's secure ones (the
 * confidential-memory `hardwareModels`, `supportAttributes: ["STABLE"]`, no debug): a grant
 * for debug images says `allowDebug: true` and `supportAttributes: []`. The match must pin
 * workloads (`imageDigests`, `imageSignatures`, or `projectIds`/`projectNumbers` with
 * `serviceAccounts`), unless `allowAnyWorkload: true` says so explicitly, for a broker
 * whose `attestation.policy` pins workloads itself. An `audience` must be the broker's.
 */
export type GrantMatch = WorkloadPolicy;

/** Azure scopes granted in one tenant. */
export interface AzureGrant {
  /** Name of an entry of `upstreams.azure`. */
  tenant: string;
  /** Scopes, each `{resource}/.default` (the client-credentials form), e.g. `https://storage.azure.com/.default`. */
  scopes: string[];
}

/** One AWS role granted. */
export interface AwsGrant {
  /** Role ARN, e.g. `arn:aws:iam::123456789012:role/reader`. */
  roleArn: string;
  /** Longest session, seconds, 900–43 200; longer requests are clamped to it. Default 3600. */
  maxDurationSeconds?: number;
  /**
   * Also send the session name (`{project number}-{instance id}`, from the verified token)
   * as `SourceIdentity`, which stays with the session and every role it chains to. The
   * role's trust policy must allow `sts:SetSourceIdentity`, or STS refuses the request.
   * Default `false`.
   */
  setSourceIdentity?: boolean;
  /**
   * Session tags, tag key → claim path (dotted, from the token's root), e.g.
   * `{ "container.image_digest": "submods.container.image_digest" }`. String, number and
   * boolean claims become the value; arrays of strings are joined with `=` (as in AWS
   * principal tags: `LATEST=STABLE=USABLE`). A missing claim or a value AWS would refuse
   * (over 256 characters, characters outside `[\p{L}\p{Z}\p{N}_.:/=+\-@]`) refuses the
   * request. Default: none. The role's trust policy must allow `sts:TagSession`.
   */
  sessionTags?: Record<string, string>;
}

/** Limits. */
export interface LimitsConfig {
  /** Largest request body, bytes; larger bodies get 413. Default 65 536. */
  maxBodyBytes?: number;
  /** Time to receive a whole request (headers and body), seconds. Default 10. */
  requestTimeoutSeconds?: number;
  /** Time allowed for one upstream call, seconds. Default 10. */
  upstreamTimeoutSeconds?: number;
  /** On shutdown, how long in-flight requests may take before connections are cut, seconds. Default 10. */
  shutdownTimeoutSeconds?: number;
  /** Token bucket per workload identity, applied after verification. */
  rateLimit?: RateLimitConfig;
  /**
   * Token bucket per source address (IPv4 address, IPv6 /64), applied to every
   * `POST /v1/token` before the body is read or any signature checked.
   */
  sourceRateLimit?: SourceRateLimitConfig;
  /** Time for a new connection to complete its TLS handshake, seconds (Node's default is 120). Default 5. */
  handshakeTimeoutSeconds?: number;
  /**
   * Most connections open at once (TLS handshakes, idle keep-alive, in flight); further
   * connections are closed at accept. Keep it below the file-descriptor limit
   * (`ulimit -n`) minus 128. Default 512.
   */
  maxConnections?: number;
  /**
   * Most connections open at once from one source address (IPv4 address, IPv6 /64); 0 = no
   * per-source cap (behind a TCP proxy that hides client addresses). Default 64.
   */
  maxConnectionsPerSource?: number;
}

/** A token bucket per source address, applied before verification. */
export interface SourceRateLimitConfig {
  /** Tokens added per second. Default 20. */
  ratePerSecond?: number;
  /** Bucket size. Default 100. */
  burst?: number;
}

/** A token bucket per workload identity, applied after verification. */
export interface RateLimitConfig {
  /** Tokens added per second. Default 1. */
  ratePerSecond?: number;
  /** Bucket size: requests allowed at once after a quiet period. Default 10. */
  burst?: number;
  /**
   * What one bucket covers: `"instance"` (image digest + project number + instance id),
   * `"image"` (image digest) or `"project"` (project number). Default `"instance"`.
   */
  per?: "instance" | "image" | "project";
}
