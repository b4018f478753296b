import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { AuthClient, IdentityPoolClient } from "google-auth-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GcpFederationOptionError } from "./errors.js";
import { createFederatedAuthClient, type FederatedAuthClientOptions } from "./federated-auth-client.js";
import { GCP_AUDIENCE_ENV } from "./provider-audience.js";

const AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier";
const SA = "decrypter@collab-one.iam.gserviceaccount.com";
const GOOD: FederatedAuthClientOptions = { audience: AUDIENCE, tokenFile: "/run/token" };

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("createFederatedAuthClient options", () => {
  it.each<[string, FederatedAuthClientOptions, string, RegExp]>([
    [
      "audience and its parts at once",
      { ...GOOD, projectNumber: "1", poolId: "pool1", providerId: "prov1" },
      "audience",
      /either audience or/,
    ],
    ["parts without providerId", { tokenFile: "/t", projectNumber: "1", poolId: "pool1" }, "providerId", /go together/],
    [
      "a project ID as projectNumber",
      { tokenFile: "/t", projectNumber: "my-project", poolId: "pool1", providerId: "prov1" },
      "projectNumber",
      /project NUMBER/,
    ],
    ["an https: audience", { ...GOOD, audience: `https:${AUDIENCE}` }, "audience", /is a URL/],
    ["a tokenUrl that is not a URL", { ...GOOD, tokenUrl: "sts" }, "tokenUrl", /not a URL/],
    [
      "a plain-http tokenUrl off loopback",
      { ...GOOD, tokenUrl: "http://sts.example.com/v1/token" },
      "tokenUrl",
      /must be https/,
    ],
    [
      "a serviceAccount that is not an email",
      { ...GOOD, serviceAccount: "decrypter" },
      "serviceAccount",
      /not a service account email/,
    ],
    [
      "a lifetime without serviceAccount",
      { ...GOOD, serviceAccountTokenLifetimeSeconds: 1200 },
      "serviceAccountTokenLifetimeSeconds",
      /set serviceAccount/,
    ],
    [
      "a lifetime under 600 s",
      { ...GOOD, serviceAccount: SA, serviceAccountTokenLifetimeSeconds: 60 },
      "serviceAccountTokenLifetimeSeconds",
      /600 to 43200/,
    ],
    [
      "a lifetime over 43200 s",
      { ...GOOD, serviceAccount: SA, serviceAccountTokenLifetimeSeconds: 43_201 },
      "serviceAccountTokenLifetimeSeconds",
      /600 to 43200/,
    ],
    [
      "an iamCredentialsEndpoint without serviceAccount",
      { ...GOOD, iamCredentialsEndpoint: "https://iam.example" },
      "iamCredentialsEndpoint",
      /impersonation only/,
    ],
    [
      "a plain-http iamCredentialsEndpoint off loopback",
      { ...GOOD, serviceAccount: SA, iamCredentialsEndpoint: "http://10.0.0.1" },
      "iamCredentialsEndpoint",
      /must be https/,
    ],
    ["empty scopes", { ...GOOD, scopes: [] }, "scopes", /one or more/],
    [
      "a universeDomain that is not a domain",
      { ...GOOD, universeDomain: "https://x" },
      "universeDomain",
      /not a domain/,
    ],
    [
      "tokenAudience set to the default token's audience",
      { ...GOOD, tokenFile: undefined, tokenAudience: "https://sts.googleapis.com" },
      "tokenAudience",
      /leave it unset/,
    ],
    [
      "tokenAudience with tokenFile",
      { ...GOOD, tokenAudience: "https://iam.example/x" },
      "tokenFile",
      /custom-audience tokens come from the launcher/,
    ],
    ["tokenSource with tokenFile", { ...GOOD, tokenSource: { getToken: async () => "" } }, "tokenSource", /replaces/],
  ])("refuses %s (option named)", (_name, options, option, message) => {
    let error: unknown;
    try {
      createFederatedAuthClient(options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GcpFederationOptionError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option });
    expect((error as Error).message).toMatch(message);
  });

  it("reads the audience from CONFSPACE_GCP_AUDIENCE when no option gives it", () => {
    vi.stubEnv(GCP_AUDIENCE_ENV, AUDIENCE);
    expect(createFederatedAuthClient({ tokenFile: "/t" }).provider.audience).toBe(AUDIENCE);
  });

  it("names both the option and the environment variable when neither is set", () => {
    vi.stubEnv(GCP_AUDIENCE_ENV, "");
    expect(() => createFederatedAuthClient({ tokenFile: "/t" })).toThrow(
      expect.objectContaining({
        option: "audience",
        envVar: GCP_AUDIENCE_ENV,
        message: expect.stringContaining(GCP_AUDIENCE_ENV),
      }),
    );
  });

  it("blames the environment variable when its value is malformed", () => {
    vi.stubEnv(GCP_AUDIENCE_ENV, `https:${AUDIENCE}`);
    expect(() => createFederatedAuthClient({ tokenFile: "/t" })).toThrow(
      expect.objectContaining({ option: GCP_AUDIENCE_ENV }),
    );
  });

  it("builds the audience from projectNumber, poolId and providerId", () => {
    const client = createFederatedAuthClient({
      tokenFile: "/t",
      projectNumber: "123456789012",
      poolId: "trusted-workload-pool",
      providerId: "attestation-verifier",
    });
    expect(client.provider).toEqual({
      audience: AUDIENCE,
      projectNumber: "123456789012",
      poolId: "trusted-workload-pool",
      providerId: "attestation-verifier",
    });
  });

  it("is an IdentityPoolClient with a programmatic supplier, without printing google-auth-library's fromJSON warning", () => {
    const warn = vi.spyOn(process, "emitWarning");
    const log = vi.spyOn(console, "warn");
    const client = createFederatedAuthClient({
      ...GOOD,
      universeDomain: "example-universe.com",
      tokenUrl: "https://sts.example-universe.com/v1/token",
    });
    expect(client).toBeInstanceOf(IdentityPoolClient);
    expect(client).toBeInstanceOf(AuthClient);
    expect(client.universeDomain).toBe("example-universe.com");
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });
});

describe("toCredentialConfig", () => {
  it("matches Google's credential configuration for the default token: credential_source.file is the token file", () => {
    expect(
      createFederatedAuthClient({
        audience: AUDIENCE,
        tokenFile: "/run/container_launcher/attestation_verifier_claims_token",
      }).toCredentialConfig(),
    ).toEqual({
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { file: "/run/container_launcher/attestation_verifier_claims_token" },
    });
  });

  it("adds impersonation, lifetime, quota project and universe when set", () => {
    const config = createFederatedAuthClient({
      ...GOOD,
      serviceAccount: SA,
      serviceAccountTokenLifetimeSeconds: 1800,
      quotaProjectId: "billing",
      universeDomain: "example-universe.com",
    }).toCredentialConfig();
    expect(config).toMatchObject({
      token_url: "https://sts.example-universe.com/v1/token",
      service_account_impersonation_url: `https://iamcredentials.example-universe.com/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
      service_account_impersonation: { token_lifetime_seconds: 1800 },
      quota_project_id: "billing",
      universe_domain: "example-universe.com",
    });
  });

  it("needs an explicit file for custom-audience tokens, and uses it", () => {
    const client = createFederatedAuthClient({ audience: AUDIENCE, tokenAudience: "https://iam.googleapis.com/x" });
    expect(() => client.toCredentialConfig()).toThrow(expect.objectContaining({ option: "subjectTokenFile" }));
    expect(client.toCredentialConfig({ subjectTokenFile: "/var/run/app/token" }).credential_source).toEqual({
      file: "/var/run/app/token",
    });
    client.dispose();
  });

  it("emits an executable credential source (pluggable auth) instead of a file, for custom-audience tokens too", () => {
    const client = createFederatedAuthClient({ audience: AUDIENCE, tokenAudience: "https://iam.googleapis.com/x" });
    expect(
      client.toCredentialConfig({
        executable: {
          command: "/usr/local/bin/confspace-bootstrap google-executable-source",
          outputFile: "/dev/shm/google.json",
        },
      }).credential_source,
    ).toEqual({
      executable: {
        command: "/usr/local/bin/confspace-bootstrap google-executable-source",
        timeout_millis: 30_000,
        output_file: "/dev/shm/google.json",
      },
    });
    expect(
      client.toCredentialConfig({ executable: { command: "/bin/x", timeoutMillis: 5_000 } }).credential_source,
    ).toEqual({
      executable: { command: "/bin/x", timeout_millis: 5_000 },
    });
    client.dispose();
  });

  it.each([
    ["both a file and an executable", { subjectTokenFile: "/t", executable: { command: "/bin/x" } }],
    ["an empty command", { executable: { command: " " } }],
    ["a timeout below Google's 5 s", { executable: { command: "/bin/x", timeoutMillis: 4_999 } }],
    ["a timeout above Google's 120 s", { executable: { command: "/bin/x", timeoutMillis: 120_001 } }],
  ])("refuses %s, naming the executable option", (_what, options) => {
    const client = createFederatedAuthClient({ audience: AUDIENCE, tokenFile: "/t" });
    expect(() => client.toCredentialConfig(options)).toThrow(expect.objectContaining({ option: "executable" }));
  });
});

describe("packaging", () => {
  it("loads google-auth-library when the first client is created, not when the package is imported", () => {
    // A fresh process, since this one has loaded it already: import, look, create, look again.
    const probe = `
      import { createRequire } from "node:module";
      const cache = createRequire(import.meta.url)("node:module")._cache;
      const loaded = () => Object.keys(cache).some((path) => path.includes("google-auth-library"));
      const { createFederatedAuthClient } = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      const atImport = loaded();
      createFederatedAuthClient(${JSON.stringify(GOOD)});
      process.stdout.write(JSON.stringify({ atImport, afterCreate: loaded() }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe], {
      cwd: new URL("../../..", import.meta.url), // the repository root, where tsx is installed
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual({ atImport: false, afterCreate: true });
  });

  it("resolves one google-auth-library copy for this package and for @google-cloud/kms's google-gax", () => {
    const here = createRequire(import.meta.url);
    const ours = realpathSync(here.resolve("google-auth-library"));
    const gax = createRequire(realpathSync(here.resolve("@google-cloud/kms"))).resolve("google-gax");
    expect(realpathSync(createRequire(gax).resolve("google-auth-library"))).toBe(ours);
  });
});
