import { InvalidOptionError } from "@confspace/core";
import type { WorkloadPolicy } from "../workload-policy.js";
import {
  CONFIDENTIAL_SPACE,
  DEBUG_DISABLED,
  effectivePolicy,
  GOOGLE_ISSUER,
  PolicyNotExpressibleError,
  type RenderCommonOptions,
  type UnenforcedClause,
} from "./internal/effective.js";
import { celList, celString, shellQuote } from "./internal/quote.js";

/** Options of {@link renderGcp}. */
export interface GcpRenderOptions extends RenderCommonOptions {
  /** Number of the project that holds the workload identity pool (`projects/NUMBER/…` in members). Required. */
  poolProjectNumber: string;
  /** Workload identity pool id (4–32 of `a-z`, `0-9`, `-`). Required. */
  poolId: string;
  /** Provider id in the pool (4–32 of `a-z`, `0-9`, `-`). Required. */
  providerId: string;
  /** Issuer URI of the provider. Default `https://confidentialcomputing.googleapis.com`. */
  issuer?: string;
  /**
   * IAM binding of the members, for the `add-iam-policy-binding` command, e.g.
   * `{ resource: "kms keys key1 --keyring=kr1 --location=global", role: "roles/cloudkms.cryptoKeyDecrypter" }`:
   * `resource` is the gcloud command group, the resource and its flags; the verb goes after the group's
   * first two words. Default: no binding command.
   */
  binding?: { resource: string; role: string };
}

/** What {@link renderGcp} returns: a workload identity provider's settings and the commands that create it. */
export interface GcpRendering {
  /** `--attribute-mapping` as an object (`google.subject`, `attribute.image_digest`, …). */
  attributeMapping: Record<string, string>;
  /** `--attribute-mapping` as gcloud's flag text. */
  attributeMappingText: string;
  /** `--attribute-condition`: CEL over `assertion` (the token's claims); every clause joined with `&&`. */
  attributeCondition: string;
  /** The clauses of the condition, in order. */
  clauses: string[];
  /** `--allowed-audiences` (the policy's audience), empty for the provider's default. */
  allowedAudiences: string[];
  /** Full resource name of the provider (the STS `audience`). */
  providerResourceName: string;
  /** IAM members to bind: one `attribute.image_digest` set per pinned digest, else the whole pool. */
  members: string[];
  /** gcloud commands: create the provider, then bind each member (when `binding` is set). */
  commands: string[];
  /** Clauses this rendering does not enforce (none for GCP). */
  unenforced: UnenforcedClause[];
}

const ID = /^[a-z0-9-]{4,32}$/;
/** Google's limit on an attribute condition, in characters. */
const MAX_CONDITION_LENGTH = 4096;

/**
 * Renders a {@link WorkloadPolicy} as a Google Cloud workload identity pool provider:
 * the attribute mapping, an attribute condition in CEL that admits exactly the tokens the
 * verifier admits, `principalSet://` members, and the gcloud commands.
 *
 * The condition never uses `int(assertion.swversion)` (`swversion` is a list: that is a
 * CEL error, and an erroring condition rejects every token); it checks
 * `size(assertion.swversion) == 1 && int(assertion.swversion[0]) >= N`.
 */
export function renderGcp(policy: WorkloadPolicy, options: GcpRenderOptions): GcpRendering {
  if (!/^[0-9]{1,20}$/.test(options.poolProjectNumber))
    throw new InvalidOptionError("poolProjectNumber", "renderGcp: poolProjectNumber must be a decimal project number");
  if (!ID.test(options.poolId)) throw new InvalidOptionError("poolId", "renderGcp: poolId must be 4–32 of a-z, 0-9, -");
  if (!ID.test(options.providerId))
    throw new InvalidOptionError("providerId", "renderGcp: providerId must be 4–32 of a-z, 0-9, -");
  const p = effectivePolicy(policy);
  const a = "assertion";
  const clauses: string[] = [
    `${a}.swname == ${celString(CONFIDENTIAL_SPACE)}`,
    `${a}.secboot == true`,
    `${a}.hwmodel in ${celList(p.hardwareModels)}`,
  ];
  if (!p.allowDebug) clauses.push(`${a}.dbgstat == ${celString(DEBUG_DISABLED)}`);
  // swversion is ["250301"], a list of one decimal string: never int() of the list itself.
  clauses.push(`size(${a}.swversion) == 1 && ${a}.swversion[0].matches(${celString("^[0-9]{1,15}$")})`);
  if (p.minSwVersion !== undefined) clauses.push(`int(${a}.swversion[0]) >= ${p.minSwVersion}`);
  for (const attribute of p.supportAttributes) {
    clauses.push(`${celString(attribute)} in ${a}.submods.confidential_space.support_attributes`);
  }
  if (p.imageDigests) clauses.push(`${a}.submods.container.image_digest in ${celList(p.imageDigests)}`);
  if (p.imageSignatures) {
    // Each listed key counted once, however many signatures it made: one exists() per key.
    const { keyIds, threshold } = p.imageSignatures;
    const signatures = `${a}.submods.container.image_signatures`;
    clauses.push(
      threshold === 1
        ? `${signatures}.exists(s, s.key_id in ${celList(keyIds)})`
        : `${keyIds.map((k) => `(${signatures}.exists(s, s.key_id == ${celString(k)}) ? 1 : 0)`).join(" + ")} >= ${threshold}`,
    );
  }
  if (p.projectIds) clauses.push(`${a}.submods.gce.project_id in ${celList(p.projectIds)}`);
  if (p.projectNumbers) clauses.push(`${a}.submods.gce.project_number in ${celList(p.projectNumbers)}`);
  if (p.serviceAccounts) {
    clauses.push(`${a}.google_service_accounts.exists(x, x in ${celList(p.serviceAccounts)})`);
  }
  if (p.restartPolicies) clauses.push(`${a}.submods.container.restart_policy in ${celList(p.restartPolicies)}`);

  const attributeMapping: Record<string, string> = {
    "google.subject": `${a}.sub`,
    "attribute.image_digest": `${a}.submods.container.image_digest`,
    "attribute.image_reference": `${a}.submods.container.image_reference`,
    "attribute.project_id": `${a}.submods.gce.project_id`,
  };
  const attributeMappingText = Object.entries(attributeMapping)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const attributeCondition = clauses.join(" && ");
  if (attributeCondition.length > MAX_CONDITION_LENGTH) {
    throw new PolicyNotExpressibleError(
      "gcp",
      p.imageSignatures ? "imageSignatures" : "imageDigests",
      `gcp: the attribute condition would be ${attributeCondition.length} characters, over Google's limit of ${MAX_CONDITION_LENGTH}; list fewer digests or keys`,
    );
  }
  const pool = `projects/${options.poolProjectNumber}/locations/global/workloadIdentityPools/${options.poolId}`;
  const principalSet = `principalSet://iam.googleapis.com/${pool}`;
  const members = p.imageDigests
    ? p.imageDigests.map((digest) => `${principalSet}/attribute.image_digest/${digest}`)
    : [`${principalSet}/*`];
  const allowedAudiences = p.audience === undefined ? [] : [p.audience];
  const create = [
    `gcloud iam workload-identity-pools providers create-oidc ${options.providerId}`,
    "--location=global",
    `--workload-identity-pool=${options.poolId}`,
    `--issuer-uri=${shellQuote(options.issuer ?? GOOGLE_ISSUER)}`,
    ...(p.audience === undefined ? [] : [`--allowed-audiences=${shellQuote(p.audience)}`]),
    `--attribute-mapping=${shellQuote(attributeMappingText)}`,
    `--attribute-condition=${shellQuote(attributeCondition)}`,
  ].join(" \\\n  ");
  const commands = [create];
  if (options.binding) {
    const words = options.binding.resource.trim().split(/\s+/);
    if (words.length < 3) {
      throw new InvalidOptionError(
        "binding.resource",
        'renderGcp: binding.resource must be "GROUP SUBGROUP RESOURCE [FLAGS…]", e.g. "kms keys key1 --keyring=kr1 --location=global"',
      );
    }
    const [group1, group2, ...rest] = words as [string, string, ...string[]];
    for (const member of members) {
      commands.push(
        `gcloud ${group1} ${group2} add-iam-policy-binding ${rest.join(" ")} \\\n  --member=${shellQuote(member)} \\\n  --role=${shellQuote(options.binding.role)}`,
      );
    }
  }
  return {
    attributeMapping,
    attributeMappingText,
    attributeCondition,
    clauses,
    allowedAudiences,
    providerResourceName: `//iam.googleapis.com/${pool}/providers/${options.providerId}`,
    members,
    commands,
    // A CEL condition expresses every clause.
    unenforced: [],
  };
}
