import { buildClaims, DEFAULT_TOKEN_AUDIENCE } from "./claims.js";
import { EmulatorOptionError } from "./errors.js";
import { signJws } from "./internal/jws.js";
import type { SigningKeyRing } from "./internal/signing-keys.js";
import type { PkiChain } from "./pki-chain.js";
import type { EmulatorClaims, TokenType } from "./profile.js";

/** Options of `Emulator.claims()`. */
export interface ClaimsOptions {
  /** `aud`. Default `https://sts.googleapis.com` (the default token's audience). */
  audience?: string;
  /** `eat_nonce`: one nonce gives a string, several an array, none leaves it out. Default none. */
  nonces?: string[];
  /** Token type; AWS types add the principal tags claim. Default `"OIDC"`. */
  tokenType?: TokenType;
  /** Key IDs allowed in the `container.signatures.key_ids` principal tag; ignored unless `AWS_PRINCIPALTAGS`, as the launcher drops them. Default none. */
  awsPrincipalTagKeyIds?: string[];
  /** Token lifetime, seconds: `exp - iat`. Default the emulator's `tokenLifetimeSeconds`. */
  lifetimeSeconds?: number;
  /** `iat` and `nbf`, seconds since the epoch. Default now. */
  issuedAt?: number;
}

/**
 * Options of `Emulator.mintToken()`. Unlike the launcher socket, `mintToken` applies
 * none of the service's limits, so tests can build tokens a real service would never
 * issue (seven nonces, the default audience with a nonce, an expired token…).
 */
export interface MintTokenOptions extends ClaimsOptions {
  /** Edits the claims in place before signing (delete, retype, add…). */
  mutateClaims?: (claims: Record<string, unknown>) => void;
  /**
   * Edits the protected header in place before signing. The signature is always
   * RS256 with the usual key, whatever `alg`, `kid`, `x5c`, `jku`… now say.
   */
  mutateHeader?: (header: Record<string, unknown>) => void;
  /** Signs a `PKI` token with this chain (from `generatePkiChain`) instead of the emulator's. */
  pkiChain?: PkiChain;
}

const TOKEN_TYPES: readonly TokenType[] = ["OIDC", "PKI", "AWS_PRINCIPALTAGS", "LIMITED_AWS"];

export interface TokenMinterConfig {
  issuer: string;
  profile: EmulatorClaims;
  keys: SigningKeyRing;
  pki: PkiChain;
  lifetimeSeconds: number;
  /** ms since the epoch. */
  now: () => number;
}

/** Builds claims and signs tokens: OIDC and AWS types with the issuer's key (`kid`), PKI with the chain's leaf (`x5c`). */
export class TokenMinter {
  readonly #config: TokenMinterConfig;

  constructor(config: TokenMinterConfig) {
    this.#config = config;
  }

  claims(options: ClaimsOptions = {}): Record<string, unknown> {
    const tokenType = options.tokenType ?? "OIDC";
    if (!TOKEN_TYPES.includes(tokenType)) {
      throw new EmulatorOptionError("tokenType", `tokenType must be one of ${TOKEN_TYPES.join(", ")}.`);
    }
    const lifetimeSeconds = options.lifetimeSeconds ?? this.#config.lifetimeSeconds;
    const issuedAt = options.issuedAt ?? Math.floor(this.#config.now() / 1000);
    if (!Number.isFinite(lifetimeSeconds)) {
      throw new EmulatorOptionError("lifetimeSeconds", "lifetimeSeconds must be a finite number of seconds.");
    }
    if (!Number.isFinite(issuedAt)) {
      throw new EmulatorOptionError("issuedAt", "issuedAt must be a finite number of seconds since the epoch.");
    }
    return buildClaims(this.#config.profile, {
      issuer: this.#config.issuer,
      audience: options.audience ?? DEFAULT_TOKEN_AUDIENCE,
      tokenType,
      issuedAt,
      lifetimeSeconds,
      ...(options.nonces ? { nonces: options.nonces } : {}),
      ...(options.awsPrincipalTagKeyIds ? { awsPrincipalTagKeyIds: options.awsPrincipalTagKeyIds } : {}),
    });
  }

  async mint(options: MintTokenOptions = {}): Promise<string> {
    if (options.pkiChain && options.tokenType !== "PKI") {
      throw new EmulatorOptionError("pkiChain", 'pkiChain signs PKI tokens only: pass tokenType: "PKI" with it.');
    }
    const claims = this.claims(options);
    options.mutateClaims?.(claims);
    let header: Record<string, unknown>;
    let key = this.#config.keys.current.privateKey;
    if (options.tokenType === "PKI") {
      const chain = options.pkiChain ?? this.#config.pki;
      header = { alg: "RS256", typ: "JWT", x5c: [...chain.x5c] };
      key = chain.leaf.privateKey;
    } else {
      header = { alg: "RS256", kid: this.#config.keys.current.kid, typ: "JWT" };
    }
    options.mutateHeader?.(header);
    return signJws(header, claims, key);
  }
}
