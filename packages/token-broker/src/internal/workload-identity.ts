import { claimAt } from "@confspace/policy";
import type { RateLimitConfig } from "../config-types.js";

/** Who a verified token says the workload is: what the broker logs and rate-limits by. No secrets. */
export interface WorkloadIdentity {
  /** `submods.container.image_digest`. */
  imageDigest?: string;
  /** `submods.gce.project_id`. */
  projectId?: string;
  /** `submods.gce.project_number`. */
  projectNumber?: string;
  /** `submods.gce.instance_id`. */
  instanceId?: string;
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined);

/** Extracts the {@link WorkloadIdentity} of verified claims (absent claims are left out). */
export function workloadIdentity(claims: Record<string, unknown>): WorkloadIdentity {
  const identity: WorkloadIdentity = {};
  const imageDigest = text(claimAt(claims, "submods.container.image_digest"));
  const projectId = text(claimAt(claims, "submods.gce.project_id"));
  const projectNumber = text(claimAt(claims, "submods.gce.project_number"));
  const instanceId = text(claimAt(claims, "submods.gce.instance_id"));
  if (imageDigest !== undefined) identity.imageDigest = imageDigest;
  if (projectId !== undefined) identity.projectId = projectId;
  if (projectNumber !== undefined) identity.projectNumber = projectNumber;
  if (instanceId !== undefined) identity.instanceId = instanceId;
  return identity;
}

/** The rate-limit bucket key of an identity for `per` (see {@link RateLimitConfig.per}). */
export function rateLimitKey(per: NonNullable<RateLimitConfig["per"]>): (identity: WorkloadIdentity) => string {
  switch (per) {
    case "image":
      return (identity) => `image:${identity.imageDigest ?? ""}`;
    case "project":
      return (identity) => `project:${identity.projectNumber ?? ""}`;
    default:
      return (identity) =>
        `instance:${identity.projectNumber ?? ""}/${identity.instanceId ?? ""}/${identity.imageDigest ?? ""}`;
  }
}
