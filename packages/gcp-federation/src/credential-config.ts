/**
 * Google's `external_account` credential configuration (the JSON `gcloud iam
 * workload-identity-pools create-cred-config` writes), for gcloud, `GOOGLE_APPLICATION_CREDENTIALS`
 * and Google's client libraries in other languages.
 */
export interface ExternalAccountCredentialConfig<Source = FileCredentialSource | ExecutableCredentialSource> {
  type: "external_account";
  /** The provider's resource name. */
  audience: string;
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt";
  /** `https://sts.googleapis.com/v1/token` unless overridden. */
  token_url: string;
  /**
   * Where tools get the attestation token: the launcher's token file (plain text), or an
   * executable (pluggable auth) such as `confspace-bootstrap google-executable-source`.
   */
  credential_source: Source;
  /** `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`, with impersonation. */
  service_account_impersonation_url?: string;
  /** Present when a lifetime was asked for explicitly. */
  service_account_impersonation?: { token_lifetime_seconds: number };
  quota_project_id?: string;
  /** Present outside the default `googleapis.com` universe. */
  universe_domain?: string;
}

/** `credential_source` reading the subject token from a file, as plain text. */
export interface FileCredentialSource {
  file: string;
  format?: { type: "text" };
}

/** `credential_source` running a command (Google's pluggable auth / executable source). */
export interface ExecutableCredentialSource {
  executable: { command: string; timeout_millis: number; output_file?: string };
}

/** Options of `toCredentialConfig()`. */
export interface CredentialConfigOptions {
  /**
   * The file tools should read the subject token from. Default: the launcher's default
   * token file this client reads. Required when the client uses custom-audience tokens
   * (the launcher writes no file for those: your app must write one and keep it fresh).
   */
  subjectTokenFile?: string;
  /**
   * Emit an `executable` credential source instead of a file: tools run `command` (split on
   * spaces, no shell) for each token and read Google's executable response from its
   * stdout, e.g. `confspace-bootstrap google-executable-source`. Clients run it only with
   * `GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1` in their environment. Not with `subjectTokenFile`.
   */
  executable?: {
    /** The command line, absolute path first. */
    command: string;
    /** How long a client waits for it, ms (5 000–120 000). Default 30 000. */
    timeoutMillis?: number;
    /** A file where the executable caches its response (clients pass it as `GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE` and reuse it until it expires). Default: none. */
    outputFile?: string;
  };
}
