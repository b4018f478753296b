import { type Emulator, startEmulator } from "@confspace/emulator";
import { type OpenBao, startOpenBao } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptedSource } from "../test/harness.js";
import { VaultJwtClient, VaultLoginError } from "./index.js";

// Real OpenBao (the version in the vault-jwt README; BAO_BIN / VAULT_BIN pick another),
// one server for this file. Every expected text below is what that server answered.

const AUDIENCE = "https://your.vault.audience";
const PROJECT = "vegas-codelab-5";
const DIGEST = "sha256:1447781b9a6fd0a09a6352c10efaffaf6a67d2d12940b56d00cb38c5b56ad646";
const SUBJECT = `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/us-central1-a/instances/vm1`;
const OPERATOR = `operator-svc-account@${PROJECT}.iam.gserviceaccount.com`;
/** OpenBao's service tokens are `s.` and 24 characters (HashiCorp Vault's: `hvs.` and more). */
const TOKEN_SHAPE = /^(?:s\.[A-Za-z0-9]{24}|hvs\.[A-Za-z0-9_-]{20,})$/;

/**
 * The role of the public Confidential Space + Vault walkthrough
 * (salrashid123/confidential_space, misc/hashicorp_vault), byte for byte, after the shell
 * expanded $OPERATOR_PROJECT_ID in its unquoted heredoc, sent as the body of
 * `POST auth/jwt/role/…` exactly as `vault write … - <<EOF` sends it. Its traps and what
 * OpenBao does with each are asserted below and listed in the README.
 */
const TUTORIAL_ROLE = `{
  "role_type": "jwt",
  "policies": ["token-policy","secrets-policy"],
  "token_explicit_max_ttl": 60,
  "user_claim": "sub",
  "bound_audiences": ["https://your.vault.audience"],
  "bound_subject": "https://www.googleapis.com/compute/v1/projects/vegas-codelab-5/zones/us-central1-a/instances/vm1",
  "claims_mappings": {
    "hwmodel": "hwmodel",
    "swname": "swname",
    "/submods/confidential_space/support_attributes": "/submods/confidential_space/support_attributes",    
    "/submods/container/image_digest": "/submods/container/image_digest",
    "/submods/gce/project_id":"/submods/gce/project_id",
    "google_service_accounts":"google_service_accounts"
  },
  "bound_claims": {
    "hwmodel": "GCP_AMD_SEV",
    "swname": "CONFIDENTIAL_SPACE",
    "/submods/confidential_space/support_attributes": ["STABLE"],
    "/submods/container/image_digest": ["${DIGEST} "],
    "/submods/gce/project_id": ["${PROJECT}"],
    "google_service_accounts":["${OPERATOR}"]
  }  
}`;

let emulator: Emulator;
let bao: OpenBao;
const clients: VaultJwtClient[] = [];

/** Writes a role through the HTTP API (text verbatim); returns OpenBao's warnings. */
async function writeRole(name: string, role: Record<string, unknown> | string, mount = "jwt"): Promise<string[]> {
  const { body } = await bao.request({
    method: "POST",
    path: `auth/${mount}/role/${name}`,
    body: typeof role === "string" ? role : JSON.stringify(role),
  });
  return (body?.warnings as string[] | null) ?? [];
}

/** What OpenBao knows of an issued token (never logged). */
async function lookup(token: string) {
  const { body } = await bao.request({ method: "POST", path: "auth/token/lookup", body: { token } });
  return body?.data as { policies: string[]; creation_ttl: number; explicit_max_ttl: number; meta: unknown };
}

beforeAll(async () => {
  emulator = await startEmulator({
    writeTokenFile: false,
    profile: {
      sub: SUBJECT,
      google_service_accounts: [OPERATOR],
      submods: { container: { image_digest: DIGEST }, gce: { project_id: PROJECT } },
    },
  });
  bao = await startOpenBao();
  await bao.request({
    method: "POST",
    path: "auth/jwt/config",
    body: { oidc_discovery_url: emulator.issuer, bound_issuer: emulator.issuer },
  });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.dispose()));
  await bao?.close();
  await emulator?.stop();
});

type Claims = Record<string, unknown> & { submods: Record<string, Record<string, unknown>> };

/** Logs in to `role` with a token minted from the known-good claims after `mutate`. */
async function login(role: string, mutate: (claims: Claims) => void = () => {}, audience = AUDIENCE, mount = "jwt") {
  const jwt = await emulator.mintToken({ audience, mutateClaims: (claims) => mutate(claims as Claims) });
  const client = new VaultJwtClient({
    address: bao.address,
    role,
    mount,
    tokenSource: scriptedSource([async () => jwt]),
  });
  clients.push(client);
  return client.token();
}

describe("the Confidential Space tutorial role", () => {
  it("loads as written (204): claims_mappings is dropped without a warning, the deprecated policies become token policies", async () => {
    const warnings = await writeRole("my-jwt-role", TUTORIAL_ROLE);
    expect(warnings).toEqual([]);
    const { body } = await bao.request({ method: "GET", path: "auth/jwt/role/my-jwt-role" });
    expect(body?.data).toMatchObject({
      claim_mappings: null,
      token_policies: ["secrets-policy", "token-policy"],
      bound_claims: { "/submods/container/image_digest": [`${DIGEST} `] },
    });
  });

  it("with the real name, claim_mappings of a list claim (google_service_accounts) fails every login", async () => {
    await writeRole("mapped", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: [AUDIENCE],
      claim_mappings: { google_service_accounts: "google_service_accounts", swname: "swname" },
    });
    await expect(login("mapped")).rejects.toMatchObject({
      status: 400,
      errors: ["error converting claim 'google_service_accounts' to string"],
    });
  });

  it("rejects a token with exactly the intended digest, because the bound value ends with a space", async () => {
    const error = await login("my-jwt-role").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultLoginError);
    expect((error as VaultLoginError).errors).toEqual([
      'error validating claims: claim "/submods/container/image_digest" does not match any associated bound claim values',
    ]);
    expect((error as VaultLoginError).status).toBe(400);
  });

  it("accepts the same token once the digest has no trailing space, with a token capped at 60 s", async () => {
    await writeRole("my-jwt-role-fixed", TUTORIAL_ROLE.replace(`${DIGEST} "`, `${DIGEST}"`));
    const token = await login("my-jwt-role-fixed");
    expect(token).toMatch(TOKEN_SHAPE);
    const issued = await lookup(token);
    expect(issued.policies).toEqual(["default", "secrets-policy", "token-policy"]);
    expect(issued.creation_ttl).toBe(60);
    expect(issued.explicit_max_ttl).toBe(60);
  });

  it("rejects every token when bound_issuer has the tutorial's trailing slash", async () => {
    await bao.request({ method: "POST", path: "sys/auth/jwt-slash", body: { type: "jwt" } });
    // The discovery URL must name the issuer exactly; only bound_issuer carries the slash.
    await bao.request({
      method: "POST",
      path: "auth/jwt-slash/config",
      body: { oidc_discovery_url: emulator.issuer, bound_issuer: `${emulator.issuer}/` },
    });
    await writeRole("my-jwt-role-fixed", TUTORIAL_ROLE.replace(`${DIGEST} "`, `${DIGEST}"`), "jwt-slash");
    await expect(login("my-jwt-role-fixed", () => {}, AUDIENCE, "jwt-slash")).rejects.toMatchObject({
      status: 400,
      errors: ["error validating token: invalid issuer (iss) claim"],
    });
  });
});

describe("login accepted or denied per bound claim (one change per row from a known-good token)", () => {
  const missing = (claim: string) => `error validating claims: claim "${claim}" is missing`;
  const mismatch = (claim: string) =>
    `error validating claims: claim "${claim}" does not match any associated bound claim values`;
  const rows: Array<{ name: string; mutate: (c: Claims) => void; audience?: string; error?: string }> = [
    { name: "the known-good token", mutate: () => {} },
    {
      name: "support_attributes holding STABLE among others",
      mutate: (c) => {
        c.submods.confidential_space!.support_attributes = ["USABLE", "STABLE"];
      },
    },
    {
      name: "several service accounts, one bound",
      mutate: (c) => {
        c.google_service_accounts = ["other@x.iam.gserviceaccount.com", OPERATOR];
      },
    },
    {
      name: "hwmodel as a one-element list (Vault compares list items)",
      mutate: (c) => {
        c.hwmodel = ["GCP_AMD_SEV"];
      },
    },
    {
      name: "hwmodel GCP_INTEL_TDX",
      mutate: (c) => {
        c.hwmodel = "GCP_INTEL_TDX";
      },
      error: mismatch("hwmodel"),
    },
    {
      name: "hwmodel in lower case",
      mutate: (c) => {
        c.hwmodel = "gcp_amd_sev";
      },
      error: mismatch("hwmodel"),
    },
    { name: "no hwmodel", mutate: (c) => void delete c.hwmodel, error: missing("hwmodel") },
    {
      name: "swname GCE",
      mutate: (c) => {
        c.swname = "GCE";
      },
      error: mismatch("swname"),
    },
    {
      name: "support_attributes without STABLE",
      mutate: (c) => {
        c.submods.confidential_space!.support_attributes = ["USABLE", "LATEST"];
      },
      error: mismatch("/submods/confidential_space/support_attributes"),
    },
    {
      name: "support_attributes as the string UNSTABLE",
      mutate: (c) => {
        c.submods.confidential_space!.support_attributes = "UNSTABLE";
      },
      error: mismatch("/submods/confidential_space/support_attributes"),
    },
    {
      name: "no support_attributes (debug image)",
      mutate: (c) => void delete c.submods.confidential_space!.support_attributes,
      error: missing("/submods/confidential_space/support_attributes"),
    },
    {
      name: "another image digest",
      mutate: (c) => {
        c.submods.container!.image_digest = `sha256:${"0".repeat(64)}`;
      },
      error: mismatch("/submods/container/image_digest"),
    },
    {
      name: "digest as an object",
      mutate: (c) => {
        c.submods.container!.image_digest = { value: DIGEST };
      },
      error: `error validating claims: received claim is not a string, bool, int or list: map[value:${DIGEST}]`,
    },
    {
      name: "another project",
      mutate: (c) => {
        c.submods.gce!.project_id = "other-project";
      },
      error: mismatch("/submods/gce/project_id"),
    },
    { name: "no gce submod", mutate: (c) => void delete c.submods.gce, error: missing("/submods/gce/project_id") },
    {
      name: "another service account",
      mutate: (c) => {
        c.google_service_accounts = ["other@x.iam.gserviceaccount.com"];
      },
      error: mismatch("google_service_accounts"),
    },
    {
      name: "another subject",
      mutate: (c) => {
        c.sub = `${SUBJECT}-2`;
      },
      error: "error validating token: invalid subject (sub) claim",
    },
    {
      name: "another audience",
      mutate: () => {},
      audience: "https://sts.googleapis.com",
      error:
        "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience",
    },
    {
      name: "another issuer",
      mutate: (c) => {
        c.iss = "https://confidentialcomputing.googleapis.com";
      },
      error: "error validating token: invalid issuer (iss) claim",
    },
  ];

  beforeAll(async () => {
    await writeRole("table", TUTORIAL_ROLE.replace(`${DIGEST} "`, `${DIGEST}"`));
  });

  for (const row of rows) {
    it(`${row.error === undefined ? "accepts" : "denies"} ${row.name}`, async () => {
      const result = login("table", row.mutate, row.audience ?? AUDIENCE);
      if (row.error === undefined) {
        await expect(result).resolves.toMatch(TOKEN_SHAPE);
      } else {
        const error = await result.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(VaultLoginError);
        expect(error).toMatchObject({ status: 400, code: "ERR_VAULT_LOGIN", role: "table", errors: [row.error] });
      }
    });
  }

  it("denies a token signed by a key the issuer does not publish", async () => {
    const error = await login("table", () => {}).then(async () => {
      const foreign = await startEmulator({
        writeTokenFile: false,
        profile: {
          sub: SUBJECT,
          google_service_accounts: [OPERATOR],
          submods: { container: { image_digest: DIGEST }, gce: { project_id: PROJECT } },
        },
      });
      try {
        const jwt = await foreign.mintToken({
          audience: AUDIENCE,
          mutateClaims: (c) => {
            c.iss = emulator.issuer;
          },
        });
        const client = new VaultJwtClient({
          address: bao.address,
          role: "table",
          tokenSource: scriptedSource([async () => jwt]),
        });
        clients.push(client);
        return await client.token().catch((e: unknown) => e);
      } finally {
        await foreign.stop();
      }
    });
    expect(error).toMatchObject({
      errors: ["error validating token: error verifying token signature: failed to verify id token signature"],
    });
  });

  it("answers 403 for a caller outside token_bound_cidrs", async () => {
    await writeRole("cidr", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: [AUDIENCE],
      token_bound_cidrs: ["10.0.0.0/8"],
    });
    const error = await login("cidr").catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, errors: ["permission denied"], code: "ERR_VAULT_LOGIN" });
  });
});

describe("bound_claims_type glob (one change per row)", () => {
  const REGISTRY = "us-docker.pkg.dev/vegas-codelab-5/images/";
  const mismatch = (claim: string) =>
    `error validating claims: claim "${claim}" does not match any associated bound claim values`;
  const rows: Array<{ name: string; mutate: (c: Claims) => void; error?: string }> = [
    {
      name: "an image from the bound repository",
      mutate: (c) => {
        c.submods.container!.image_reference = `${REGISTRY}app:v1`;
      },
    },
    {
      name: "a second listed pattern (lists stay any-of)",
      mutate: (c) => {
        c.submods.container!.image_reference = "europe-docker.pkg.dev/vegas-codelab-5/images/app@sha256:1";
      },
    },
    {
      name: "an image from another repository",
      mutate: (c) => {
        c.submods.container!.image_reference = "docker.io/library/app:v1";
      },
      error: mismatch("/submods/container/image_reference"),
    },
    {
      name: "the pattern's prefix with one character changed",
      mutate: (c) => {
        c.submods.container!.image_reference = `${REGISTRY.replace("images", "imagez")}app:v1`;
      },
      error: mismatch("/submods/container/image_reference"),
    },
    {
      name: "swname CONFIDENTIAL_SPACE_DEBUG (a glob without * is exact)",
      mutate: (c) => {
        c.submods.container!.image_reference = `${REGISTRY}app:v1`;
        c.swname = "CONFIDENTIAL_SPACE_DEBUG";
      },
      error: mismatch("swname"),
    },
  ];

  beforeAll(async () => {
    await writeRole("glob", {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: [AUDIENCE],
      bound_claims_type: "glob",
      bound_claims: {
        swname: "CONFIDENTIAL_SPACE",
        "/submods/container/image_reference": [`${REGISTRY}*`, "europe-docker.pkg.dev/vegas-codelab-5/images/*"],
      },
    });
  });

  for (const row of rows) {
    it(`${row.error === undefined ? "accepts" : "denies"} ${row.name}`, async () => {
      const result = login("glob", row.mutate);
      if (row.error === undefined) {
        await expect(result).resolves.toMatch(TOKEN_SHAPE);
      } else {
        await expect(result).rejects.toMatchObject({ status: 400, code: "ERR_VAULT_LOGIN", errors: [row.error] });
      }
    });
  }
});

describe("roles OpenBao refuses to write", () => {
  it.each([
    [
      "no role_type (defaults to oidc)",
      { user_claim: "sub", bound_audiences: [AUDIENCE] },
      "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
    ],
    [
      "no bound constraint at all",
      { role_type: "jwt", user_claim: "sub" },
      "must have at least one bound constraint when creating/updating a role",
    ],
  ])("%s", async (_name, role, error) => {
    const { status, body } = await bao.request({
      method: "POST",
      path: "auth/jwt/role/refused",
      body: role,
      accept: [400],
    });
    expect({ status, errors: body?.errors }).toEqual({ status: 400, errors: [error] });
  });

  it("a role with bound_claims but no bound_audiences rejects a token that has an aud", async () => {
    await writeRole("no-aud", { role_type: "jwt", user_claim: "sub", bound_claims: { swname: "CONFIDENTIAL_SPACE" } });
    await expect(login("no-aud")).rejects.toMatchObject({
      status: 400,
      errors: ["audience claim found in JWT but no audiences bound to the role"],
    });
  });
});
