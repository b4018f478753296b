/** Per-call options of {@link AttestationTokenSource.getToken}. */
export interface GetAttestationTokenOptions {
  /** Abandons this caller's wait; rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Ignore the cached token and obtain another (e.g. after a relying party rejected it).
   * Default `false`.
   */
  forceRefresh?: boolean;
  /**
   * Nonces to bind into this one token's `eat_nonce` (up to 6, 10–74 bytes each). A token
   * with nonces is requested afresh for each call and never cached. Only custom-token
   * sources accept nonces; the default token cannot carry them. Default: none.
   */
  nonces?: readonly string[];
}

/**
 * Where credential packages get attestation tokens from. {@link defaultTokenSource}
 * gives the launcher's default token (audience `https://sts.googleapis.com`);
 * {@link customTokenSource} gives tokens for one audience, optionally with nonces per
 * call. Tests can pass any object of this shape.
 *
 * Implementations never return an expired token.
 */
export interface AttestationTokenSource {
  /** A valid attestation token (compact JWT). */
  getToken(options?: GetAttestationTokenOptions): Promise<string>;
}
