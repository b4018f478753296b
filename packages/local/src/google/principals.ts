import type { IssuedFederatedToken } from "./sts.js";

/** A federated identity of a workload identity pool (an access token from the local STS). */
export interface LocalFederatedPrincipal extends IssuedFederatedToken {
  kind: "federated";
}

/** A service account (an access token from the local IAM Credentials `generateAccessToken`). */
export interface LocalServiceAccountPrincipal {
  kind: "serviceAccount";
  /** The service account's email. */
  email: string;
  /** Scopes of the token. */
  scopes: string[];
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
}

/**
 * Any other IAM member holding a fixed access token, e.g. `user:alice@example.com` for a
 * collaborator encrypting with their own gcloud credentials.
 */
export interface LocalMemberPrincipal {
  kind: "member";
  /** The IAM member string, e.g. `user:alice@example.com`. */
  member: string;
  scopes: string[];
  expiresAt: number;
}

/** Who an access token presented to a local Google API stands for. */
export type LocalGooglePrincipal = LocalFederatedPrincipal | LocalServiceAccountPrincipal | LocalMemberPrincipal;

/** A local server that issues access tokens (the local STS, the local IAM Credentials). */
export interface LocalGoogleTokenIssuer {
  /** The principal behind an access token it issued (expired ones included), else `undefined`. */
  resolveAccessToken(accessToken: string): LocalGooglePrincipal | undefined;
}

/** A fixed access token for an IAM member (see {@link LocalMemberPrincipal}). */
export interface LocalStaticAccessToken {
  /** The bearer token the member presents. */
  token: string;
  /** IAM member, e.g. `user:alice@example.com`. */
  member: string;
  /** Default `["https://www.googleapis.com/auth/cloud-platform"]`. */
  scopes?: string[];
}

/** One IAM binding: a role granted to members, as in `gcloud … add-iam-policy-binding --member --role`. */
export interface LocalIamBinding {
  /** e.g. `roles/cloudkms.cryptoKeyDecrypter`, `roles/iam.workloadIdentityUser`. */
  role: string;
  /**
   * IAM members: `principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/S`,
   * `principalSet://…/workloadIdentityPools/P/attribute.NAME/VALUE`, `principalSet://…/group/G`,
   * `principalSet://…/workloadIdentityPools/P/*`, `serviceAccount:EMAIL`, `user:EMAIL`.
   */
  members: string[];
}
