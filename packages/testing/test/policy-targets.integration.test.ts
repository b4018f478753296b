// One workload policy, rendered for every relying party, against one table of tokens: the
// good token and one mutation per row (the shared POLICY_CASES the evaluator, the verifier
// and the broker's grant matching also run), minted by the emulator. Each target runs its
// own evaluator — the verifier, the local Google STS (CEL through @bufbuild/cel), real
// OpenBao, the local AWS STS (IAM trust policy on Google's principal tags) and a real
// broker — and must agree with the verifier, except on the rows listed in DIFFERENCES,
// each of which fails a clause that target's rendering reports as unenforced and that
// packages/policy/README.md names ("What each target cannot express").
import { createAttestationVerifier } from "@confspace/attestation/verify";
import { brokerEkmOptions, brokerNonce, connectBound } from "@confspace/ekm-tls";
import { DEFAULT_PROFILE, principalTags } from "@confspace/emulator";
import {
  type RenderClause,
  renderAws,
  renderBroker,
  renderGcp,
  renderVault,
  type UnenforcedClause,
  type WorkloadPolicy,
} from "@confspace/policy";
import { explainPolicy } from "@confspace/policy/explain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type LocalStack,
  type OpenBao,
  POLICY_CASES,
  policyCasePolicy,
  preparePolicyClaims,
  startLocalStack,
  startOpenBao,
} from "../src/index.js";

/** The audience every target is configured for (the local AWS STS's OIDC provider lists it). */
const AUDIENCE = "https://aws.confspace.local/123456789012";
const ACCOUNT = "123456789012";
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/policy-rendered`;
const SCOPE = "https://storage.azure.com/.default";

type Target = "verifier" | "gcp" | "vault" | "aws" | "broker";
const TARGETS: readonly Target[] = ["verifier", "gcp", "vault", "aws", "broker"];

/** What each target is told it may leave out: exactly what its README row names. */
const VAULT_UNENFORCED: RenderClause[] = ["minSwVersion", "imageSignatures"];
const AWS_UNENFORCED: RenderClause[] = ["imageDigests", "serviceAccounts", "projectNumbers", "restartPolicies"];

/**
 * The rows a target admits although the verifier refuses them, with the unenforced clause
 * that explains each. Every other row must get the verifier's verdict.
 */
const DIFFERENCES: Record<"vault" | "aws", Record<string, RenderClause>> = {
  vault: {
    "an older swversion": "minSwVersion",
    "swversion as a number": "swversionFormat",
    "signatures below the threshold (one of two)": "imageSignatures",
    "one key's signature twice counts once": "imageSignatures",
    "an unlisted key's signature does not count": "imageSignatures",
    "an unsigned image": "imageSignatures",
    "Secure Boot off": "secboot",
  },
  aws: {
    "another image digest": "imageDigests",
    "a digest with a trailing space": "imageDigests",
    "another project number": "projectNumbers",
    "another service account": "serviceAccounts",
    "a debug image": "dbgstat",
    "another restart policy": "restartPolicies",
    "Secure Boot off": "secboot",
  },
};

const ROWS = [{ name: "the good token", mutate: (_: Record<string, unknown>) => {} }, ...POLICY_CASES];
type Row = (typeof ROWS)[number];

/** The shared table's policy for the emulator's default workload, for this audience. */
const POLICY: WorkloadPolicy = {
  ...policyCasePolicy(preparePolicyClaims(structuredClone(DEFAULT_PROFILE) as unknown as Record<string, unknown>)),
  audience: AUDIENCE,
};

describe("one policy, five targets, one table of tokens", () => {
  const gcp = renderGcp(POLICY, { poolProjectNumber: "42", poolId: "policy-pool", providerId: "rendered" });
  const broker = renderBroker(POLICY, {
    grantName: "rendered",
    gives: { azure: [{ tenant: "local", scopes: [SCOPE] }] },
  });
  let vault: ReturnType<typeof renderVault>;
  let aws: ReturnType<typeof renderAws> | undefined;
  let stack: LocalStack;
  let bao: OpenBao;
  let admit: Record<Target, (row: Row) => Promise<boolean>>;

  beforeAll(async () => {
    stack = await startLocalStack({
      services: ["gcp", "aws", "azure"],
      log: () => {},
      emulator: { writeTokenFile: false },
      azure: { storage: false },
      gcp: {
        providers: [
          {
            audience: gcp.providerResourceName,
            allowedAudiences: gcp.allowedAudiences,
            attributeMapping: gcp.attributeMapping,
            attributeCondition: gcp.attributeCondition,
          },
        ],
      },
      aws: {
        roles: ({ provider }) => {
          aws = renderAws(POLICY, {
            accountId: ACCOUNT,
            issuer: `http://${provider}`,
            allowUnenforced: AWS_UNENFORCED,
          });
          return [{ arn: ROLE_ARN, trustPolicy: aws.trustPolicy }];
        },
      },
      broker: {
        audience: AUDIENCE,
        editConfig: (config) => {
          config.grants = parse(broker.grantYaml).grants;
          // The broker's verifier admits any workload here, so the rendered grant alone decides.
          config.attestation.policy = { allowAnyWorkload: true, allowDebug: true, supportAttributes: [] };
          // One table run sends a few dozen requests from one source in a second.
          config.limits = {
            rateLimit: { ratePerSecond: 1000, burst: 10_000 },
            sourceRateLimit: { ratePerSecond: 1000, burst: 10_000 },
          };
        },
      },
    });
    const { emulator } = stack;
    vault = renderVault(POLICY, {
      issuer: emulator.issuer,
      tokenPolicies: ["default"],
      allowUnenforced: VAULT_UNENFORCED,
    });
    // Real OpenBao, configured with nothing but the rendered auth config and role.
    bao = await startOpenBao();
    await bao.request({ method: "POST", path: "auth/jwt/config", body: vault.authConfig });
    await bao.request({ method: "POST", path: "auth/jwt/role/rendered", body: vault.role });
    const verifier = createAttestationVerifier({ audience: AUDIENCE, issuer: emulator.issuer, policy: POLICY });

    type MintOptions = NonNullable<Parameters<typeof emulator.mintToken>[0]>;
    const mint = (row: Row, extra: MintOptions = {}) =>
      emulator.mintToken({
        audience: AUDIENCE,
        ...extra,
        mutateClaims: (claims) => {
          preparePolicyClaims(claims);
          row.mutate(claims);
          if (extra.tokenType === "AWS_PRINCIPALTAGS") {
            // Google derives the tags from the attested claims: derive them again after the mutation.
            claims["https://aws.amazon.com/tags"] = {
              principal_tags: principalTags(claims as never, extra.awsPrincipalTagKeyIds ?? []),
            };
          }
        },
      });
    admit = {
      verifier: async (row) => {
        const token = await mint(row);
        const verdict = await verifier.verify(token).then(
          () => true,
          (error: { code?: string }) => {
            expect(error.code, row.name).toBe("ERR_ATTESTATION_POLICY");
            return false;
          },
        );
        return explained(token, POLICY as Record<string, unknown>, verdict, row);
      },
      gcp: async (row) => {
        const token = await mint(row);
        const res = await fetch(stack.gcp!.sts.tokenUrl, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
            audience: gcp.providerResourceName,
            scope: "https://www.googleapis.com/auth/cloud-platform",
            requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
            subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
            subject_token: token,
          }),
        });
        const body = (await res.json()) as { error?: string };
        if (res.status !== 200) expect(body.error, row.name).toBe("unauthorized_client");
        return explained(token, gcp.attributeCondition, res.status === 200, row);
      },
      vault: async (row) => {
        const token = await mint(row);
        const res = await fetch(`${bao.address}/v1/auth/jwt/login`, {
          method: "POST",
          body: JSON.stringify({ role: "rendered", jwt: token }),
        });
        const body = (await res.json()) as { auth?: { metadata?: Record<string, string> } };
        if (res.status === 200) expect(body.auth?.metadata?.image_digest, row.name).toBeTypeOf("string");
        else expect(res.status, row.name).toBe(400);
        return explained(token, JSON.stringify(vault.role), res.status === 200, row);
      },
      aws: async (row) => {
        const keyIds = aws!.tokenOptions!.allowed_principal_tags.container_image_signatures.key_ids;
        const token = await mint(row, { tokenType: "AWS_PRINCIPALTAGS", awsPrincipalTagKeyIds: keyIds });
        const res = await fetch(stack.aws!.sts.endpoint, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            Action: "AssumeRoleWithWebIdentity",
            Version: "2011-06-15",
            RoleArn: ROLE_ARN,
            RoleSessionName: "policy-table",
            WebIdentityToken: token,
          }),
        });
        const text = await res.text();
        if (res.status !== 200) expect(text, row.name).toContain("AccessDenied");
        return explained(token, JSON.stringify(aws!.trustPolicy), res.status === 200, row);
      },
      broker: async (row) => {
        const connection = await connectBound(stack.broker!.url, {
          ...brokerEkmOptions(AUDIENCE),
          tls: { ca: stack.pki.caPem },
        });
        try {
          const token = await mint(row, { nonces: [brokerNonce(connection.ekm)] });
          const res = await connection.request({
            method: "POST",
            path: "/v1/token",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ attestation_token: token, provider: "azure", scope: SCOPE }),
          });
          const json = JSON.parse(res.text()) as { error?: string };
          // 403: no grant matches; 401: the broker's own verifier refused a malformed claim first.
          if (res.statusCode !== 200) expect(["access_denied", "invalid_token"], row.name).toContain(json.error);
          return explained(token, broker.grantYaml, res.statusCode === 200, row);
        } finally {
          await connection.close();
        }
      },
    };
  }, 90_000);
  afterAll(async () => {
    await bao?.close();
    await stack?.stop();
  });

  /** explainPolicy, given the same token and the configuration the target loaded, reaches the target's verdict. */
  function explained(token: string, against: string | Record<string, unknown>, verdict: boolean, row: Row): boolean {
    const explanation = explainPolicy(token, against);
    expect(explanation.admitted, `${row.name}: explain says ${explanation.failed?.clause ?? "admitted"}`).toBe(verdict);
    return verdict;
  }

  it("reports as unenforced exactly what each target cannot express, and every difference below is one of them", () => {
    const clauses = (list: readonly UnenforcedClause[]) => list.map((u) => u.clause).sort();
    expect(clauses(gcp.unenforced)).toEqual([]);
    expect(clauses(broker.unenforced)).toEqual([]);
    expect(clauses(vault.unenforced)).toEqual(["imageSignatures", "minSwVersion", "secboot", "swversionFormat"]);
    expect(clauses(aws!.unenforced)).toEqual(
      [
        "dbgstat",
        "imageDigests",
        "projectNumbers",
        "restartPolicies",
        "secboot",
        "serviceAccounts",
        "swversionFormat",
      ].sort(),
    );
    for (const [target, rows] of Object.entries(DIFFERENCES)) {
      const reported = clauses(target === "vault" ? vault.unenforced : aws!.unenforced);
      for (const [name, clause] of Object.entries(rows)) {
        expect(reported, `${target}: ${name}`).toContain(clause);
        expect(ROWS.map((r) => r.name)).toContain(name);
      }
    }
  });

  it.each(ROWS.map((row) => [row.name, row] as const))(
    "%s: every target agrees with the verifier, or differs as documented",
    async (_name, row) => {
      const verdicts = Object.fromEntries(
        await Promise.all(TARGETS.map(async (target) => [target, await admit[target](row)] as const)),
      );
      const good = row.name === "the good token";
      expect(verdicts.verifier, "verifier").toBe(good);
      const expected = Object.fromEntries(
        TARGETS.map((t) => [t, good || (t in DIFFERENCES && row.name in DIFFERENCES[t as "vault" | "aws"])]),
      );
      expect(verdicts).toEqual(expected);
    },
  );
});
