import { describe, expect, it } from "vitest";
import type { BrokerConfig, GrantMatch } from "./config-types.js";
import { BrokerConfigError } from "./errors.js";
import { validateBrokerConfig } from "./validate-config.js";

const DIGEST = `sha256:${"a1".repeat(32)}`;

/** A complete, valid configuration; each row below breaks exactly one thing in a copy. */
function good(): BrokerConfig & Record<string, unknown> {
  return {
    listen: { host: "0.0.0.0", port: 8443 },
    tls: { certFile: "/tls/cert.pem", keyFile: "/tls/key.pem" },
    attestation: { audience: "https://broker.example", policy: { imageDigests: [DIGEST] } },
    upstreams: {
      azure: {
        contoso: { tenantId: "contoso.onmicrosoft.com", clientId: "app-1", clientSecretEnv: "CONTOSO_SECRET" },
        fabrikam: { tenantId: "fabrikam.example", clientId: "app-2", clientCertificateFile: "/azure/app2.pem" },
      },
      aws: { region: "eu-west-1" },
    },
    grants: [
      {
        name: "blob",
        match: { imageDigests: [DIGEST] },
        azure: [{ tenant: "contoso", scopes: ["https://storage.azure.com/.default"] }],
      },
      {
        name: "s3",
        match: { projectIds: ["my-project"], serviceAccounts: ["app@my-project.iam.gserviceaccount.com"] },
        azure: [{ tenant: "fabrikam", scopes: ["https://vault.azure.net/.default"] }],
        aws: [
          {
            roleArn: "arn:aws:iam::123456789012:role/reader",
            maxDurationSeconds: 3600,
            sessionTags: { digest: "submods.container.image_digest" },
          },
        ],
      },
    ],
    limits: { rateLimit: { ratePerSecond: 2, burst: 5, per: "image" } },
  };
}

/** The defaults every WorkloadPolicy gets from @confspace/policy's validatePolicy. */
const POLICY_DEFAULTS = {
  hardwareModels: ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"],
  supportAttributes: ["STABLE"],
  allowDebug: false,
  allowAnyWorkload: false,
} as const satisfies GrantMatch;

/** `config` as validateBrokerConfig returns it: the policy and every match with the policy defaults. */
function withPolicyDefaults(config: BrokerConfig): BrokerConfig {
  return {
    ...config,
    attestation: { ...config.attestation, policy: { ...POLICY_DEFAULTS, ...config.attestation.policy } },
    grants: config.grants.map((grant) => ({ ...grant, match: { ...POLICY_DEFAULTS, ...grant.match } })),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: rows poke at arbitrary fields of a plain copy
type Mutation = (c: any) => void;

const rows: Array<[string, Mutation, string]> = [
  ["unknown top-level field", (c) => (c.grant = []), "grant"],
  ["listen.port out of range", (c) => (c.listen.port = 70000), "listen.port"],
  ["listen.port a string", (c) => (c.listen.port = "8443"), "listen.port"],
  ["tls missing", (c) => delete c.tls, "tls"],
  ["tls.keyFile missing", (c) => delete c.tls.keyFile, "tls.keyFile"],
  ["tls.minVersion set", (c) => (c.tls.minVersion = "TLSv1.2"), "tls.minVersion"],
  [
    "requireClientCertificate without CA",
    (c) => (c.tls.requireClientCertificate = true),
    "tls.requireClientCertificate",
  ],
  ["audience missing", (c) => delete c.attestation.audience, "attestation.audience"],
  ["audience is Google STS", (c) => (c.attestation.audience = "https://sts.googleapis.com"), "attestation.audience"],
  ["tokenType unknown", (c) => (c.attestation.tokenType = "JWT"), "attestation.tokenType"],
  ["PKI without fingerprint", (c) => (c.attestation.tokenType = "PKI"), "attestation.pkiRootFingerprint"],
  ["issuer not a URL", (c) => (c.attestation.issuer = "confidentialcomputing"), "attestation.issuer"],
  [
    "policy digest uppercase",
    (c) => (c.attestation.policy.imageDigests = [DIGEST.toUpperCase()]),
    "attestation.policy.imageDigests[0]",
  ],
  [
    "policy allows shielded VMs",
    (c) => (c.attestation.policy.hardwareModels = ["GCP_SHIELDED_VM"]),
    "attestation.policy.hardwareModels[0]",
  ],
  [
    "policy support attribute unknown",
    (c) => (c.attestation.policy.supportAttributes = ["STABEL"]),
    "attestation.policy.supportAttributes[0]",
  ],
  ["policy allowDebug a string", (c) => (c.attestation.policy.allowDebug = "false"), "attestation.policy.allowDebug"],
  ["policy unknown field", (c) => (c.attestation.policy.imageDigest = DIGEST), "attestation.policy.imageDigest"],
  [
    "inline client secret",
    (c) => (c.upstreams.azure.contoso.clientSecret = "s3cr3t-value"),
    "upstreams.azure.contoso.clientSecret",
  ],
  [
    "secret and certificate",
    (c) => (c.upstreams.azure.contoso.clientCertificateFile = "/x.pem"),
    "upstreams.azure.contoso",
  ],
  [
    "neither secret nor certificate",
    (c) => delete c.upstreams.azure.contoso.clientSecretEnv,
    "upstreams.azure.contoso",
  ],
  [
    "secret env not a variable name",
    (c) => (c.upstreams.azure.contoso.clientSecretEnv = "MY SECRET"),
    "upstreams.azure.contoso.clientSecretEnv",
  ],
  ["tenantId missing", (c) => delete c.upstreams.azure.fabrikam.tenantId, "upstreams.azure.fabrikam.tenantId"],
  [
    "authorityHost over http",
    (c) => (c.upstreams.azure.contoso.authorityHost = "http://login.example"),
    "upstreams.azure.contoso.authorityHost",
  ],
  [
    "sendCertificateChain with a secret",
    (c) => (c.upstreams.azure.contoso.sendCertificateChain = true),
    "upstreams.azure.contoso.sendCertificateChain",
  ],
  ["aws region missing", (c) => delete c.upstreams.aws.region, "upstreams.aws.region"],
  ["aws inline secret key", (c) => (c.upstreams.aws.secretAccessKey = "abc"), "upstreams.aws.secretAccessKey"],
  [
    "aws credentials without key id env",
    (c) => (c.upstreams.aws.credentials = { secretAccessKeyEnv: "K" }),
    "upstreams.aws.credentials.accessKeyIdEnv",
  ],
  ["grants missing", (c) => delete c.grants, "grants"],
  ["grants empty", (c) => (c.grants = []), "grants"],
  ["grant name missing", (c) => delete c.grants[1].name, "grants[1].name"],
  ["grant name repeated", (c) => (c.grants[1].name = "blob"), "grants[1].name"],
  ["grant without match", (c) => delete c.grants[0].match, "grants[0].match"],
  ["grant matching everything", (c) => (c.grants[0].match = { hardwareModels: ["GCP_AMD_SEV"] }), "grants[0].match"],
  ["grant match empty list", (c) => (c.grants[0].match.imageDigests = []), "grants[0].match.imageDigests"],
  [
    "grant match duplicate digest",
    (c) => (c.grants[0].match.imageDigests = [DIGEST, DIGEST]),
    "grants[0].match.imageDigests[1]",
  ],
  [
    "grant match project number as number",
    (c) => (c.grants[0].match.projectNumbers = [123]),
    "grants[0].match.projectNumbers[0]",
  ],
  ["grant gives nothing", (c) => delete c.grants[0].azure, "grants[0]"],
  ["grant names unknown tenant", (c) => (c.grants[1].azure[0].tenant = "northwind"), "grants[1].azure[0].tenant"],
  ["grant scopes empty", (c) => (c.grants[1].azure[0].scopes = []), "grants[1].azure[0].scopes"],
  [
    "grant scopes a string",
    (c) => (c.grants[1].azure[0].scopes = "https://vault.azure.net/.default"),
    "grants[1].azure[0].scopes",
  ],
  [
    "grant scope not .default",
    (c) => (c.grants[1].azure[0].scopes = ["https://vault.azure.net/user_impersonation"]),
    "grants[1].azure[0].scopes[0]",
  ],
  [
    "grant role ARN malformed",
    (c) => (c.grants[1].aws[0].roleArn = "arn:aws:iam::1234:role/reader"),
    "grants[1].aws[0].roleArn",
  ],
  ["grant role listed twice", (c) => c.grants[1].aws.push({ ...c.grants[1].aws[0] }), "grants[1].aws[1].roleArn"],
  [
    "grant duration over 12 h",
    (c) => (c.grants[1].aws[0].maxDurationSeconds = 50_000),
    "grants[1].aws[0].maxDurationSeconds",
  ],
  [
    "grant duration under 15 min",
    (c) => (c.grants[1].aws[0].maxDurationSeconds = 600),
    "grants[1].aws[0].maxDurationSeconds",
  ],
  ["aws grant without aws upstream", (c) => delete c.upstreams.aws, "grants[1].aws"],
  [
    "session tag key reserved",
    (c) => (c.grants[1].aws[0].sessionTags = { "aws:x": "sub" }),
    'grants[1].aws[0].sessionTags["aws:x"]',
  ],
  [
    "session tag key bad char",
    (c) => (c.grants[1].aws[0].sessionTags = { "a#b": "sub" }),
    'grants[1].aws[0].sessionTags["a#b"]',
  ],
  [
    "session tag keys differ in case",
    (c) => (c.grants[1].aws[0].sessionTags = { a: "sub", A: "sub" }),
    "grants[1].aws[0].sessionTags.A",
  ],
  [
    "session tag claim path malformed",
    (c) => (c.grants[1].aws[0].sessionTags = { a: "submods..gce" }),
    "grants[1].aws[0].sessionTags.a",
  ],
  ["rate limit zero", (c) => (c.limits.rateLimit.ratePerSecond = 0), "limits.rateLimit.ratePerSecond"],
  ["rate limit per unknown", (c) => (c.limits.rateLimit.per = "ip"), "limits.rateLimit.per"],
  ["body limit tiny", (c) => (c.limits.maxBodyBytes = 10), "limits.maxBodyBytes"],
  ["metrics a string", (c) => (c.metrics = "yes"), "metrics"],
  ["metrics an unknown field", (c) => (c.metrics = { host: "127.0.0.1", path: "/m" }), "metrics.path"],
  ["metrics port out of range", (c) => (c.metrics = { port: 70000 }), "metrics.port"],
  // Anyone can get a Google-signed token for any audience: a rule must pin workloads.
  ["policy missing", (c) => delete c.attestation.policy, "attestation.policy"],
  ["policy pins no workload", (c) => (c.attestation.policy = { allowDebug: false }), "attestation.policy"],
  [
    "policy opt-out a string",
    (c) => (c.attestation.policy = { allowAnyWorkload: "true" }),
    "attestation.policy.allowAnyWorkload",
  ],
  [
    "policy opt-out next to a pin",
    (c) => (c.attestation.policy.allowAnyWorkload = true),
    "attestation.policy.allowAnyWorkload",
  ],
  ["grant pins no workload", (c) => (c.grants[0].match = { hardwareModels: ["GCP_AMD_SEV"] }), "grants[0].match"],
  [
    "grant pins a project without its service accounts",
    (c) => (c.grants[1].match = { projectIds: ["my-project"] }),
    "grants[1].match",
  ],
  [
    "grant pins service accounts without a project",
    (c) => (c.grants[1].match = { serviceAccounts: ["app@my-project.iam.gserviceaccount.com"] }),
    "grants[1].match",
  ],
  [
    "grant signature key id malformed",
    (c) => (c.grants[0].match = { imageSignatures: { keyIds: ["a b"], threshold: 1 } }),
    "grants[0].match.imageSignatures.keyIds[0]",
  ],
  [
    "grant signature threshold above the number of keys",
    (c) => (c.grants[0].match = { imageSignatures: { keyIds: ["k1", "k2"], threshold: 3 } }),
    "grants[0].match.imageSignatures.threshold",
  ],
  [
    "grant with the former imageSignatureKeyIds",
    (c) => (c.grants[0].match = { imageSignatureKeyIds: ["k1"] }),
    "grants[0].match.imageSignatureKeyIds",
  ],
  [
    "grant digest with a trailing space",
    (c) => (c.grants[0].match.imageDigests = [`${DIGEST} `]),
    "grants[0].match.imageDigests[0]",
  ],
  [
    "grant audience that is not the broker's",
    (c) => (c.grants[0].match.audience = "https://other.example"),
    "grants[0].match.audience",
  ],
  ["grant opt-out false", (c) => (c.grants[0].match = { allowAnyWorkload: false }), "grants[0].match"],
  ["grant unknown match field", (c) => (c.grants[0].match.imageDigest = DIGEST), "grants[0].match.imageDigest"],
  [
    "grant opt-out next to a pin",
    (c) => (c.grants[0].match.allowAnyWorkload = true),
    "grants[0].match.allowAnyWorkload",
  ],
  [
    "setSourceIdentity a string",
    (c) => (c.grants[1].aws[0].setSourceIdentity = "yes"),
    "grants[1].aws[0].setSourceIdentity",
  ],
  ["handshake timeout zero", (c) => (c.limits.handshakeTimeoutSeconds = 0), "limits.handshakeTimeoutSeconds"],
  ["handshake timeout 120 s", (c) => (c.limits.handshakeTimeoutSeconds = 120), "limits.handshakeTimeoutSeconds"],
  ["max connections zero", (c) => (c.limits.maxConnections = 0), "limits.maxConnections"],
  [
    "per-source cap above the global cap",
    (c) => Object.assign(c.limits, { maxConnections: 100, maxConnectionsPerSource: 101 }),
    "limits.maxConnectionsPerSource",
  ],
  [
    "source rate zero",
    (c) => (c.limits.sourceRateLimit = { ratePerSecond: 0 }),
    "limits.sourceRateLimit.ratePerSecond",
  ],
  ["source rate unknown field", (c) => (c.limits.sourceRateLimit = { per: "ip" }), "limits.sourceRateLimit.per"],
];

describe("validateBrokerConfig", () => {
  it("accepts the known-good configuration and returns an equal copy, policies with their defaults", () => {
    const config = good();
    expect(validateBrokerConfig(config)).toEqual(withPolicyDefaults(config));
  });

  it.each(rows)("refuses %s, naming the field", (_name, mutate, field) => {
    const config = good();
    mutate(config);
    let error: unknown;
    try {
      validateBrokerConfig(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BrokerConfigError);
    expect((error as BrokerConfigError).field).toBe(field);
    expect((error as BrokerConfigError).code).toBe("ERR_BROKER_CONFIG");
    expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
  });

  it("accepts an explicit allowAnyWorkload in the policy or a grant, and the connection limits", () => {
    const config = good();
    config.attestation.policy = { allowAnyWorkload: true };
    config.grants[0]!.match = { allowAnyWorkload: true, hardwareModels: ["GCP_INTEL_TDX"] };
    config.grants[1]!.aws![0]!.setSourceIdentity = true;
    config.limits = {
      handshakeTimeoutSeconds: 3,
      maxConnections: 900,
      maxConnectionsPerSource: 0,
      sourceRateLimit: { ratePerSecond: 5, burst: 20 },
    };
    config.metrics = { host: "0.0.0.0", port: 0 };
    expect(validateBrokerConfig(config)).toEqual(withPolicyDefaults(config));
    expect(validateBrokerConfig({ ...good(), metrics: false }).metrics).toBe(false);
  });

  it("names the pin fields and the opt-out when a grant pins nothing", () => {
    const config = good();
    config.grants[0]!.match = {};
    expect(() => validateBrokerConfig(config)).toThrow(
      /imageDigests, imageSignatures, or projectIds\/projectNumbers together with serviceAccounts \(or allowAnyWorkload: true/,
    );
  });

  it("never repeats a configured value in its message", () => {
    const config = good();
    (config.upstreams!.azure!.contoso as unknown as Record<string, unknown>).clientSecret = "s3cr3t-value";
    expect(() => validateBrokerConfig(config)).toThrow(/clientSecretEnv/);
    try {
      validateBrokerConfig(config);
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("s3cr3t-value");
    }
  });

  it("cannot be tricked into prototype pollution by a tenant named __proto__", () => {
    const config = JSON.parse(
      JSON.stringify(good())
        .replace('"contoso":', '"__proto__":')
        .replaceAll('"tenant":"contoso"', '"tenant":"__proto__"'),
    );
    const valid = validateBrokerConfig(config);
    expect(Object.hasOwn(valid.upstreams!.azure!, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).tenantId).toBeUndefined();
  });
});
