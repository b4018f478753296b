import { InvalidOptionError } from "@confspace/core";
import type { LocalGooglePrincipal, LocalIamBinding } from "../principals.js";

/** Permissions of the predefined roles the local servers know (Google's role definitions, trimmed to what they check). */
const ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  "roles/cloudkms.cryptoKeyEncrypterDecrypter": [
    "cloudkms.cryptoKeyVersions.useToEncrypt",
    "cloudkms.cryptoKeyVersions.useToDecrypt",
  ],
  "roles/cloudkms.cryptoKeyEncrypter": ["cloudkms.cryptoKeyVersions.useToEncrypt"],
  "roles/cloudkms.cryptoKeyDecrypter": ["cloudkms.cryptoKeyVersions.useToDecrypt"],
  "roles/iam.workloadIdentityUser": ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken"],
  "roles/iam.serviceAccountTokenCreator": [
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.signJwt",
  ],
};

const POOL = String.raw`projects/\d+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}`;
const PRINCIPAL = new RegExp(`^principal://iam\\.googleapis\\.com/(${POOL})/subject/(.+)$`);
const PRINCIPAL_SET = new RegExp(
  `^principalSet://iam\\.googleapis\\.com/(${POOL})/(?:(\\*)|group/(.+)|attribute\\.([a-z0-9_]{1,100})/(.+))$`,
);
const EMAIL_MEMBER = /^(serviceAccount|user):[^@\s]+@[^@\s]+$/;

/** Parsed form of an IAM member. */
type Member =
  | { kind: "subject"; pool: string; subject: string }
  | { kind: "pool"; pool: string }
  | { kind: "group"; pool: string; group: string }
  | { kind: "attribute"; pool: string; name: string; value: string }
  | { kind: "serviceAccount"; email: string }
  | { kind: "literal"; member: string };

function parseMember(member: string): Member | undefined {
  const principal = PRINCIPAL.exec(member);
  if (principal) return { kind: "subject", pool: principal[1]!, subject: principal[2]! };
  const set = PRINCIPAL_SET.exec(member);
  if (set) {
    const pool = set[1]!;
    if (set[2]) return { kind: "pool", pool };
    if (set[3] !== undefined) return { kind: "group", pool, group: set[3] };
    return { kind: "attribute", pool, name: set[4]!, value: set[5]! };
  }
  if (EMAIL_MEMBER.test(member)) {
    return member.startsWith("serviceAccount:")
      ? { kind: "serviceAccount", email: member.slice("serviceAccount:".length) }
      : { kind: "literal", member };
  }
  return undefined;
}

/** A compiled IAM policy (list of bindings) for one resource. */
export interface IamPolicy {
  bindings: ReadonlyArray<{ permissions: ReadonlySet<string>; members: Member[] }>;
}

/** Validates bindings the way `setIamPolicy` would (unknown roles and malformed members are a `TypeError`). */
export function compileIamPolicy(label: string, bindings: readonly LocalIamBinding[]): IamPolicy {
  return {
    bindings: bindings.map((binding) => {
      const permissions = ROLE_PERMISSIONS[binding.role];
      if (!permissions) {
        throw new InvalidOptionError(
          "bindings",
          `${label}: role "${binding.role}" is not one of ${Object.keys(ROLE_PERMISSIONS).join(", ")}`,
        );
      }
      return {
        permissions: new Set(permissions),
        members: binding.members.map((member) => {
          const parsed = parseMember(member);
          if (!parsed)
            throw new InvalidOptionError(
              "bindings",
              `${label}: "${member}" is not an IAM member this server understands`,
            );
          return parsed;
        }),
      };
    }),
  };
}

/** True when some binding grants `permission` to a member that matches `principal`. */
export function isPermitted(
  policy: IamPolicy | undefined,
  permission: string,
  principal: LocalGooglePrincipal,
): boolean {
  if (!policy) return false;
  return policy.bindings.some(
    (binding) => binding.permissions.has(permission) && binding.members.some((member) => matches(member, principal)),
  );
}

function matches(member: Member, principal: LocalGooglePrincipal): boolean {
  switch (member.kind) {
    case "serviceAccount":
      return principal.kind === "serviceAccount" && principal.email.toLowerCase() === member.email.toLowerCase();
    case "literal":
      return principal.kind === "member" && principal.member === member.member;
    default: {
      if (principal.kind !== "federated" || principal.pool !== member.pool) return false;
      if (member.kind === "pool") return true;
      if (member.kind === "subject") return principal.subject === member.subject;
      if (member.kind === "group") return principal.groups.includes(member.group);
      const value = principal.attributes[member.name];
      // Exact, case-sensitive comparison; a list-valued attribute matches any element.
      return Array.isArray(value) ? value.includes(member.value) : value === member.value;
    }
  }
}

/** A readable IAM member for a principal (for request logs). */
export function describePrincipal(principal: LocalGooglePrincipal): string {
  if (principal.kind === "serviceAccount") return `serviceAccount:${principal.email}`;
  if (principal.kind === "member") return principal.member;
  return `principal://iam.googleapis.com/${principal.pool}/subject/${principal.subject}`;
}
