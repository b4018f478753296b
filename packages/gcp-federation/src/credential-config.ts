/**
 * Google's `external_account` credential configuration (the JSON `gcloud iam
 * workload-identity-pools create-cred-config` writes), for gcloud, `GOOGLE_APPLICATION_CREDENTIALS`
 * and Google's client libraries in other languages.
 */
export interface ExternalAccountCredentialConfig {
  type: "external_account";
  /** The provider's resource name. */
  audience: string;
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt";
  /** `https://sts.googleapis.com/v1/token` unless overridden. */
  token_url: string;
  /** Where tools read the attestation token: the launcher's token file, as plain text. */
  credential_source: { file: string; format?: { type: "text" } };
  /** `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`, with impersonation. */
  service_account_impersonation_url?: string;
  /** Present when a lifetime was asked for explicitly. */
  service_account_impersonation?: { token_lifetime_seconds: number };
  quota_project_id?: string;
  /** Present outside the default `googleapis.com` universe. */
  universe_domain?: string;
}

/** Options of `toCredentialConfig()`. */
export interface CredentialConfigOptions {
  /**
   * The file tools should read the subject token from. Default: the launcher's default
   * token file this client reads. Required when the client uses custom-audience tokens
   * (the launcher writes no file for those: your app must write one and keep it fresh).
   */
  subjectTokenFile?: string;
}
