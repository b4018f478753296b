import { ConfspaceError, type ConfspaceErrorOptions, InvalidOptionError } from "@confspace/core";

/** Options of {@link VaultError}. */
export interface VaultErrorOptions extends ConfspaceErrorOptions {
  /** HTTP status of Vault's answer. */
  status: number;
  /** Vault's `errors` array (scrubbed of anything token-shaped). */
  errors?: readonly string[];
  method: string;
  /** Request path below `/v1/`. */
  path: string;
}

/**
 * Vault answered a request with an error status. `status` is the HTTP status and
 * `errors` Vault's own `{"errors": [...]}` texts (e.g. `permission denied`); the message
 * names the request and what to check, never a token or Vault's body. Code
 * `ERR_VAULT_REQUEST`.
 */
export class VaultError extends ConfspaceError {
  readonly status: number;
  readonly errors: readonly string[];
  readonly method: string;
  readonly path: string;

  constructor(message: string, options: VaultErrorOptions, code = "ERR_VAULT_REQUEST") {
    super(code, message, options);
    this.status = options.status;
    this.errors = options.errors ?? [];
    this.method = options.method;
    this.path = options.path;
  }
}

/**
 * Vault refused the JWT login (400: the token failed the role's checks, the role or
 * config is missing; 403: `token_bound_cidrs`). `errors` holds Vault's reason, e.g.
 * `error validating claims: claim "/submods/container/image_digest" does not match any
 * associated bound claim values`. Retrying with the same workload cannot succeed until the
 * role or the workload changes. Code `ERR_VAULT_LOGIN`.
 */
export class VaultLoginError extends VaultError {
  /** The role logged in to (`undefined` when the mount's `default_role` was used). */
  readonly role: string | undefined;
  readonly mount: string;

  constructor(message: string, options: VaultErrorOptions & { role: string | undefined; mount: string }) {
    super(message, options, "ERR_VAULT_LOGIN");
    this.role = options.role;
    this.mount = options.mount;
  }
}

/**
 * Vault could not be reached or is not serving: connection refused or reset, TLS failure,
 * timeout, 429, or a 5xx (sealed, standby, internal error). `status` is 0 when no answer
 * arrived; `retryAfterMs` comes from `Retry-After` when Vault sent one. The client keeps
 * its current token until it really expires and retries with backoff. Code
 * `ERR_VAULT_UNAVAILABLE`.
 */
export class VaultUnavailableError extends VaultError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: VaultErrorOptions & { retryAfterMs?: number }) {
    super(message, options, "ERR_VAULT_UNAVAILABLE");
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Vault answered 2xx with something that is not what the endpoint returns (not JSON, no
 * `auth.client_token`, no `data`, larger than `maxResponseBytes`). Code
 * `ERR_VAULT_RESPONSE`.
 */
export class VaultResponseError extends VaultError {
  constructor(message: string, options: VaultErrorOptions) {
    super(message, options, "ERR_VAULT_RESPONSE");
  }
}

/**
 * The attestation token at hand expires too soon to be sent (within `minRemainingMs` of its
 * `exp`, by this machine's clock); it was not sent. Code `ERR_ATTESTATION_TOKEN_EXPIRED`.
 */
export class AttestationTokenExpiredError extends ConfspaceError {
  /** `exp` of the refused token, ms since the epoch. */
  readonly expiresAt: number;

  constructor(message: string, expiresAt: number) {
    super("ERR_ATTESTATION_TOKEN_EXPIRED", message);
    this.expiresAt = expiresAt;
  }
}

/**
 * An option is missing or invalid; `option` names it and `envVars` the environment
 * variables that could have supplied it. Thrown by the constructor. Code
 * `ERR_INVALID_OPTION`.
 */
export class VaultOptionError extends InvalidOptionError {}
