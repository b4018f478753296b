import { InvalidOptionError } from "@confspace/core";
import type { WorkloadPolicy } from "../workload-policy.js";
import {
  CONFIDENTIAL_SPACE,
  effectivePolicy,
  GOOGLE_ISSUER,
  type RenderCommonOptions,
  Unenforced,
  type UnenforcedClause,
} from "./internal/effective.js";

/** Options of {@link renderAws}. */
export interface AwsRenderOptions extends RenderCommonOptions {
  /** The AWS account that holds the IAM OIDC provider (12 digits). Required. */
  accountId: string;
  /** Issuer of the tokens; the IAM OIDC provider is named by it without `https://`. Default Google's. */
  issuer?: string;
}

/** An IAM trust policy document. */
export interface AwsTrustPolicy {
  Version: "2012-10-17";
  Statement: Array<{
    Effect: "Allow";
    Principal: { Federated: string };
    Action: string[];
    Condition: Record<string, Record<string, string | string[]>>;
  }>;
}

/** What {@link renderAws} returns. */
export interface AwsRendering {
  trustPolicy: AwsTrustPolicy;
  /** `aws_principal_tag_options` the workload must request its `AWS_PRINCIPALTAGS` token with (signature key IDs). */
  tokenOptions: { allowed_principal_tags: { container_image_signatures: { key_ids: string[] } } } | undefined;
  /** Length of the policy's JSON without whitespace: IAM refuses trust policies over its quota (2 048 by default). */
  size: number;
  /** Clauses this rendering does not enforce, and why a trust policy cannot. */
  unenforced: UnenforcedClause[];
}

const TAG = "aws:RequestTag/";

/**
 * Renders a {@link WorkloadPolicy} as the trust policy of an IAM role assumed with
 * `AssumeRoleWithWebIdentity` and an `AWS_PRINCIPALTAGS` token. IAM sees only session
 * tags, and Google's tag set (`hwmodel`, `swname`, `swversion`,
 * `confidential_space.support_attributes`, `container.image_digest` or
 * `container.signatures.key_ids`, `gce.project_id`, `gce.zone`; lists joined with `=`,
 * sorted) carries no `dbgstat`, `secboot`, project number, service account or restart
 * policy. Those clauses throw {@link PolicyNotExpressibleError} unless allowed with
 * `allowUnenforced`; `dbgstat` is implied by a required support attribute (debug images
 * have none). Lists become `StringLike` patterns over the joined tag value; a minimum
 * `swversion` becomes patterns of the decimal range.
 */
export function renderAws(policy: WorkloadPolicy, options: AwsRenderOptions): AwsRendering {
  if (!/^[0-9]{12}$/.test(options.accountId))
    throw new InvalidOptionError("accountId", "renderAws: accountId must be 12 digits");
  const p = effectivePolicy(policy);
  if (p.audience === undefined)
    throw new InvalidOptionError(
      "policy.audience",
      "renderAws: the policy needs an audience (the provider's client ID)",
    );
  const unenforced = new Unenforced("aws", options);
  const provider = (options.issuer ?? GOOGLE_ISSUER).replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const equals: Record<string, string | string[]> = {
    [`${provider}:aud`]: p.audience,
    [`${TAG}swname`]: CONFIDENTIAL_SPACE,
    [`${TAG}hwmodel`]: [...p.hardwareModels],
  };
  const like: Record<string, string[]> = {};
  unenforced.note("secboot", "Google's principal tags carry no secboot");
  if (p.supportAttributes.length > 0) {
    like[`${TAG}confidential_space.support_attributes`] = containsAtLeast(
      p.supportAttributes,
      p.supportAttributes.length,
    );
    if (!p.allowDebug) {
      unenforced.note(
        "dbgstat",
        "Google's principal tags carry no dbgstat; the required support attribute excludes debug images, which carry none",
      );
    }
  } else if (!p.allowDebug) {
    unenforced.refuse("dbgstat", "Google's principal tags carry no dbgstat; require a support attribute instead");
  }
  like[`${TAG}swversion`] = atLeast(p.minSwVersion ?? 0);
  unenforced.note(
    "swversionFormat",
    "StringLike's ? matches any character, so swversion is taken to be decimal, as Google writes it",
  );
  let keyIds: string[] | undefined;
  if (p.imageSignatures) {
    // Sorted by UTF-16 code unit, as Google sorts the tag's values (validated key IDs are distinct).
    keyIds = [...p.imageSignatures.keyIds].sort();
    like[`${TAG}container.signatures.key_ids`] = containsAtLeast(keyIds, p.imageSignatures.threshold);
    if (p.imageDigests) {
      unenforced.refuse(
        "imageDigests",
        "a token carries container.signatures.key_ids or container.image_digest, never both",
      );
    }
  } else if (p.imageDigests) {
    equals[`${TAG}container.image_digest`] = [...p.imageDigests];
  }
  if (p.projectIds) equals[`${TAG}gce.project_id`] = [...p.projectIds];
  if (p.projectNumbers)
    unenforced.refuse("projectNumbers", "Google's principal tags carry the project id, not its number");
  if (p.serviceAccounts) unenforced.refuse("serviceAccounts", "Google's principal tags carry no service account");
  if (p.restartPolicies) unenforced.refuse("restartPolicies", "Google's principal tags carry no restart policy");
  // Digests or signatures (whichever the tags carry); never projects, as no service account is.
  unenforced.requirePin(
    p,
    p.imageDigests !== undefined || p.imageSignatures !== undefined,
    "image digests or signatures",
  );
  const trustPolicy: AwsTrustPolicy = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${options.accountId}:oidc-provider/${provider}` },
        Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        Condition: { StringEquals: equals, StringLike: like },
      },
    ],
  };
  return {
    trustPolicy,
    tokenOptions: keyIds && { allowed_principal_tags: { container_image_signatures: { key_ids: keyIds } } },
    size: JSON.stringify(trustPolicy).length,
    unenforced: unenforced.list,
  };
}

/**
 * `StringLike` patterns matching a `=`-joined sorted list that holds at least `threshold`
 * of `values` (which hold no `=`, `*` or `?`): for each subset of that size, in sorted order,
 * each element either first or after `=`, either last or before `=`.
 */
function containsAtLeast(values: readonly string[], threshold: number): string[] {
  const sorted = [...values].sort();
  const patterns = new Set<string>();
  for (const subset of subsets(sorted, threshold)) {
    const gaps = subset.length + 1;
    // Stryker disable next-line EqualityOperator: one mask more repeats the pattern of mask 0, which the set drops
    for (let mask = 0; mask < 1 << gaps; mask++) {
      let pattern = mask & 1 ? "*=" : "";
      subset.forEach((value, i) => {
        pattern += value;
        if (i < subset.length - 1) pattern += mask & (1 << (i + 1)) ? "=*=" : "=";
      });
      if (mask & (1 << (gaps - 1))) pattern += "=*";
      patterns.add(pattern);
    }
  }
  return [...patterns];
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  const out: T[][] = [];
  for (let i = 0; i <= items.length - size; i++) {
    for (const rest of subsets(items.slice(i + 1), size - 1)) out.push([items[i]!, ...rest]);
  }
  return out;
}

/**
 * `StringLike` patterns matching the decimal strings (no sign, no leading zero) of at least
 * `minimum`: for each digit position, a larger digit there followed by any digits, and
 * every longer number.
 */
function atLeast(minimum: number): string[] {
  const digits = String(minimum);
  const patterns: string[] = [digits];
  [...digits].forEach((digit, i) => {
    for (let d = Number(digit) + 1; d <= 9; d++) {
      patterns.push(digits.slice(0, i) + String(d) + "?".repeat(digits.length - i - 1));
    }
  });
  // Any longer number (swversion has no leading zeros).
  patterns.push(`${"?".repeat(digits.length + 1)}*`);
  return minimum === 0 ? ["?*"] : patterns;
}
