import { InvalidOptionError } from "@confspace/core";
import type { WorkloadPolicy } from "../workload-policy.js";
import { effectivePolicy, type RenderCommonOptions, type UnenforcedClause } from "./internal/effective.js";

/** Options of {@link renderBroker}. */
export interface BrokerRenderOptions extends RenderCommonOptions {
  /** The grant's `name` (1–64 of letters, digits, `.`, `_`, `-`). Required. */
  grantName: string;
  /** What the grant gives (`azure`, `aws` entries of a grant, as in broker.yaml), copied as given. Default: none. */
  gives?: { azure?: readonly unknown[]; aws?: readonly unknown[] };
}

/** What {@link renderBroker} returns. */
export interface BrokerRendering {
  /** The grant's `match`: the policy with every default written out, so the grant alone enforces it. */
  match: Record<string, unknown>;
  /** The grant as a broker.yaml `grants:` entry (YAML, two-space indent). */
  grantYaml: string;
  /** Clauses this rendering does not enforce (none: the broker runs the policy's own evaluator). */
  unenforced: UnenforcedClause[];
}

/**
 * Renders a {@link WorkloadPolicy} as a grant of `@confspace/token-broker`'s broker.yaml. The
 * broker evaluates `match` with this package's evaluator, so nothing is lost; the policy's
 * `audience` is the broker's `attestation.audience`, not part of a grant.
 */
export function renderBroker(policy: WorkloadPolicy, options: BrokerRenderOptions): BrokerRendering {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.grantName))
    throw new InvalidOptionError("grantName", "renderBroker: grantName must be 1–64 of letters, digits, . _ -");
  const p = effectivePolicy(policy);
  const match: Record<string, unknown> = {};
  if (p.allowAnyWorkload) match.allowAnyWorkload = true;
  if (p.imageDigests) match.imageDigests = [...p.imageDigests];
  if (p.imageSignatures)
    match.imageSignatures = { keyIds: [...p.imageSignatures.keyIds], threshold: p.imageSignatures.threshold };
  if (p.projectIds) match.projectIds = [...p.projectIds];
  if (p.projectNumbers) match.projectNumbers = [...p.projectNumbers];
  if (p.serviceAccounts) match.serviceAccounts = [...p.serviceAccounts];
  match.hardwareModels = [...p.hardwareModels];
  match.supportAttributes = [...p.supportAttributes];
  if (p.minSwVersion !== undefined) match.minSwVersion = p.minSwVersion;
  if (p.restartPolicies) match.restartPolicies = [...p.restartPolicies];
  if (p.allowDebug) match.allowDebug = true;
  const grant: Record<string, unknown> = { name: options.grantName, match };
  if (options.gives?.azure) grant.azure = options.gives.azure;
  if (options.gives?.aws) grant.aws = options.gives.aws;
  return { match, grantYaml: `grants:\n${yamlEntry(grant)}`, unenforced: [] };
}

/** Block YAML with JSON scalars and flow-style lists of scalars: readable, and YAML 1.2 reads it back exactly. */
function yamlEntry(grant: Record<string, unknown>): string {
  return `  - ${yamlMapping(grant, 4).trimStart()}`;
}

function yamlMapping(value: Record<string, unknown>, indent: number): string {
  const pad = " ".repeat(indent);
  return Object.entries(value)
    .map(([key, item]) => {
      if (Array.isArray(item) && !isScalarList(item)) {
        const entries = item.map(
          (entry) => `${pad}  - ${yamlMapping(entry as Record<string, unknown>, indent + 4).trimStart()}`,
        );
        return `${pad}${key}:\n${entries.join("\n")}`;
      }
      if (isObject(item)) return `${pad}${key}:\n${yamlMapping(item, indent + 2)}`;
      return `${pad}${key}: ${JSON.stringify(item)}`;
    })
    .join("\n");
}

function isObject(value: unknown): value is Record<string, unknown> {
  // Stryker disable next-line ConditionalExpression: a grant holds no null
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A list of scalars (a policy list); what a grant gives is a list of objects. Lists are never mixed. */
function isScalarList(value: readonly unknown[]): boolean {
  // Stryker disable next-line MethodExpression,ConditionalExpression: every and some agree on a list that is not mixed; a grant holds no null
  return value.every((item) => typeof item !== "object" || item === null);
}
