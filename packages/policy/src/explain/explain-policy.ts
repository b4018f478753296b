import { InvalidOptionError } from "@confspace/core";
import { parse as parseYaml } from "yaml";
import { evaluatePolicy } from "../evaluate-policy.js";
import type { WorkloadPolicy } from "../workload-policy.js";
import { explainAws } from "./explain-aws.js";
import { explainCel, type WifProviderText } from "./explain-cel.js";
import { explainVaultConfig, explainVaultRole } from "./explain-vault.js";
import { type ExplainedClause, type ExplainFormat, type Explanation, explanation } from "./explanation.js";

/** Options of {@link explainPolicy}. */
export interface ExplainPolicyOptions {
  /** How to read `against`. Default: recognised from its content (see {@link explainPolicy}). */
  format?: ExplainFormat;
}

type Claims = Readonly<Record<string, unknown>>;

/**
 * Says why a relying party's configuration admits or refuses a token: the clause that
 * fails and the claim value that failed it. Only claims are read — the signature, times
 * and issuer keys are not checked (use the verifier for that) — and the token itself never
 * appears in the result; nonces and the container's `env`/`args` are never shown.
 *
 * `against` is a configuration as text (JSON, YAML or a CEL condition) or parsed:
 * a GCP attribute condition (CEL text, or gcloud's `providers describe --format=json`
 * with `attributeCondition`), a Vault/OpenBao JWT role (`bound_claims`, `role_type`, …)
 * or its auth config (`bound_issuer`, `oidc_discovery_url`), an AWS trust policy
 * (`Statement`), a broker.yaml (`grants`), or a {@link WorkloadPolicy}. The output of
 * `vault read -format=json` and `aws iam get-role` is read as the role or trust policy it holds.
 *
 * @param token a compact JWT, or its decoded claims
 * @throws InvalidOptionError `token` is not a JWT, or `against` is not a configuration it can read
 */
export function explainPolicy(
  token: string | Claims,
  against: string | Readonly<Record<string, unknown>>,
  options: ExplainPolicyOptions = {},
): Explanation {
  const claims = typeof token === "string" ? decodeClaims(token) : token;
  const { format, document } = recognise(against, options.format);
  switch (format) {
    case "gcp": {
      const { clauses, warnings } = explainCel(document as unknown as WifProviderText, claims);
      return explanation("gcp", clauses, warnings);
    }
    case "vault-role": {
      const { clauses, warnings } = explainVaultRole(document, claims);
      return explanation("vault-role", clauses, warnings);
    }
    case "vault-config": {
      const { clauses, warnings } = explainVaultConfig(document, claims);
      return explanation("vault-config", clauses, warnings);
    }
    case "aws": {
      const { clauses, warnings, admitted } = explainAws(document, claims);
      return explanation("aws", clauses, warnings, admitted);
    }
    case "broker":
      return explainBroker(document, claims);
    case "policy":
      return explanation("policy", policyClauses(document as WorkloadPolicy, claims, ""));
  }
}

/** The payload of a compact JWS, unverified. Never puts the token in an error. */
function decodeClaims(token: string): Claims {
  // Whitespace around the token only touches the first and last parts, never the payload.
  const parts = token.split(".");
  if (parts.length !== 3)
    throw new InvalidOptionError("token", "explainPolicy: token is not a compact JWT (three dot-separated parts)");
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
  } catch {
    payload = undefined;
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new InvalidOptionError("token", "explainPolicy: the token's payload is not a JSON object");
  }
  return payload as Claims;
}

function recognise(
  against: string | Readonly<Record<string, unknown>>,
  forced: ExplainFormat | undefined,
): { format: ExplainFormat; document: Record<string, unknown> } {
  let document: unknown = against;
  if (typeof against === "string") {
    document = parseText(against);
    if (typeof document === "string") {
      if (forced !== undefined && forced !== "gcp") {
        throw new InvalidOptionError("against", `explainPolicy: a ${forced} configuration must be JSON or YAML`);
      }
      return { format: "gcp", document: { attributeCondition: document } };
    }
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new InvalidOptionError(
      "against",
      "explainPolicy: against must be a configuration object, JSON, YAML or a CEL condition",
    );
  }
  const doc = unwrap(document as Record<string, unknown>);
  const format = forced ?? detect(doc);
  if (format === "gcp") return { format, document: gcloudProvider(doc) };
  return { format, document: doc };
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // not JSON
  }
  try {
    const value = parseYaml(text) as unknown;
    if (typeof value === "object" && value !== null) return value;
  } catch {
    // not YAML: CEL
  }
  // splitConjuncts trims each clause.
  return text;
}

/**
 * The configuration inside a CLI's output: `vault read -format=json auth/jwt/role/NAME`
 * (`{ data: role }`) and `aws iam get-role` (`{ Role: { AssumeRolePolicyDocument } }`, the
 * document possibly URL-encoded).
 */
function unwrap(doc: Record<string, unknown>): Record<string, unknown> {
  const data = doc.data;
  if (typeof data === "object" && data !== null && !Array.isArray(data) && "request_id" in doc) {
    return data as Record<string, unknown>;
  }
  const role = doc.Role as { AssumeRolePolicyDocument?: unknown } | undefined;
  const trust = typeof role === "object" && role !== null ? role.AssumeRolePolicyDocument : undefined;
  if (typeof trust === "string") {
    try {
      return JSON.parse(decodeURIComponent(trust)) as Record<string, unknown>;
    } catch {
      throw new InvalidOptionError(
        "against.Role.AssumeRolePolicyDocument",
        "explainPolicy: AssumeRolePolicyDocument is not a (URL-encoded) JSON policy",
      );
    }
  }
  if (typeof trust === "object" && trust !== null) return trust as Record<string, unknown>;
  return doc;
}

function detect(doc: Record<string, unknown>): ExplainFormat {
  if ("Statement" in doc) return "aws";
  if ("attributeCondition" in doc || "attribute_condition" in doc) return "gcp";
  if ("grants" in doc) return "broker";
  if (
    ["role_type", "bound_claims", "bound_audiences", "user_claim", "claim_mappings", "claims_mappings"].some(
      (k) => k in doc,
    )
  ) {
    return "vault-role";
  }
  if (["bound_issuer", "oidc_discovery_url", "jwks_url", "jwt_validation_pubkeys"].some((k) => k in doc))
    return "vault-config";
  return "policy";
}

/** gcloud's describe output (`attributeCondition`, `attributeMapping`, `oidc.allowedAudiences`, `oidc.issuerUri`). */
function gcloudProvider(doc: Record<string, unknown>): Record<string, unknown> {
  const oidc = (doc.oidc ?? {}) as { allowedAudiences?: unknown; issuerUri?: unknown };
  const condition = doc.attributeCondition ?? doc.attribute_condition;
  if (typeof condition !== "string")
    throw new InvalidOptionError("against.attributeCondition", "explainPolicy: attributeCondition must be CEL text");
  return {
    attributeCondition: condition,
    ...(typeof doc.attributeMapping === "object" &&
      doc.attributeMapping !== null && { attributeMapping: doc.attributeMapping }),
    ...(Array.isArray(oidc.allowedAudiences) && oidc.allowedAudiences.length > 0
      ? { allowedAudiences: oidc.allowedAudiences }
      : // Google's default: the provider's full resource name, with or without https:.
        typeof doc.name === "string" &&
        /^projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/.test(doc.name) && {
          allowedAudiences: [`//iam.googleapis.com/${doc.name}`, `https://iam.googleapis.com/${doc.name}`],
        }),
    ...(typeof oidc.issuerUri === "string" && { issuerUri: oidc.issuerUri }),
  };
}

function policyClauses(policy: WorkloadPolicy, claims: Claims, prefix: string): ExplainedClause[] {
  return evaluatePolicy(policy, claims).clauses.map((r) => ({
    clause: `${prefix}${r.clause}`,
    ok: r.ok,
    claim: r.claim,
    ...(r.value !== undefined && { value: r.value }),
    message: r.ok ? r.message : `${r.message} (expected ${r.expected})`,
  }));
}

/** broker.yaml: `attestation.policy` (the broker's verifier), then each grant's `match`. */
function explainBroker(doc: Record<string, unknown>, claims: Claims): Explanation {
  const clauses: ExplainedClause[] = [];
  const attestation = doc.attestation as { policy?: WorkloadPolicy } | undefined;
  let verified = true;
  if (attestation?.policy !== undefined) {
    const results = policyClauses(attestation.policy, claims, "attestation.policy ");
    verified = results.every((r) => r.ok);
    clauses.push(...results);
  }
  const grants = Array.isArray(doc.grants) ? (doc.grants as Array<{ name?: unknown; match?: WorkloadPolicy }>) : [];
  let matched = false;
  grants.forEach((grant, index) => {
    const results = policyClauses(grant.match ?? {}, claims, `grants[${index}] (${String(grant.name)}) `);
    if (results.every((r) => r.ok)) matched = true;
    clauses.push(...results);
  });
  return explanation("broker", clauses, [], verified && matched);
}
