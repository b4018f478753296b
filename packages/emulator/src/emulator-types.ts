import type { Logger } from "@confspace/core";
import type { ImageSigner } from "./image-signers.js";
import type { FailureResponse } from "./internal/fault-queue.js";
import type { PkiChain } from "./pki-chain.js";
import type { EmulatorProfile } from "./profile.js";
import type { ClaimsOptions, MintTokenOptions } from "./token-minter.js";

export type { FailureResponse };

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * Directory for the socket and the token file. Created if missing and left in
   * place on `stop()`. Default: a fresh `mkdtemp` directory, removed on `stop()`.
   */
  dir?: string;
  /** Launcher socket path. Default `{dir}/teeserver.sock`. At most 107 bytes (Unix socket limit). */
  socketPath?: string;
  /** Default token file path. Default `{dir}/attestation_verifier_claims_token`. */
  tokenFile?: string;
  /** Interface of the issuer's HTTP listener. Default `127.0.0.1`. */
  host?: string;
  /** Port of the issuer's HTTP listener. Default `0` (a free port). */
  port?: number;
  /**
   * Claims describing the workload: `"default"` (production-like), `"debug"`
   * (`dbgstat` `enabled`, no support attributes) or an object deep-merged over the
   * default profile (`null` deletes a claim). Default `"default"`.
   */
  profile?: "default" | "debug" | EmulatorProfile;
  /** Lifetime of every token, seconds (`exp - iat`). Default `3600`. */
  tokenLifetimeSeconds?: number;
  /** Write and refresh the default token file. Default `true`. */
  writeTokenFile?: boolean;
  /** Emulate the service quota on the launcher socket (5 requests per second, then 500). Default `false`. */
  launcherQuota?: boolean;
  /** Where the emulator logs (requests at debug level; never tokens). Default: no logging. */
  logger?: Logger;
  /** Clock for `iat`/`exp` and the quota, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** The PKI chain behind `PKI` tokens (reuse one to keep a pinned root stable across restarts). Default: a fresh chain. */
  pkiChain?: PkiChain;
  /**
   * Keys that signed the workload image with cosign (what `tee-signed-image-repos` would
   * offer): every token lists one `submods.container.image_signatures` entry per signer,
   * with the `key_id` Google computes (SHA-256 of the DER public key) and its
   * `signature_algorithm`; `signature` is real when the signer gives its private key. A
   * profile that sets `image_signatures` itself is refused next to it. Default: an
   * unsigned image (no `image_signatures`).
   */
  imageSigners?: readonly ImageSigner[];
}

/** Options of `Emulator.rotateKeys()`. */
export interface RotateKeysOptions {
  /** Keep the retiring key in the JWKS until the next rotation, as Google does. Default `true`. */
  keepPrevious?: boolean;
}

/** A running emulator: launcher socket, token file, OIDC issuer and PKI chain. */
export interface Emulator extends AsyncDisposable {
  /** The launcher's Unix socket. */
  readonly socketPath: string;
  /** The default token file (written only when `writeTokenFile` is on). */
  readonly tokenFile: string;
  /** `http://127.0.0.1:PORT`: the `iss` of every token. Not Google's issuer, never to be trusted in production. */
  readonly issuer: string;
  /** The JWKS URL named by the discovery document. */
  readonly jwksUri: string;
  /** SHA-256 of the PKI root certificate, lowercase hex, no colons. */
  readonly pkiRootFingerprint: string;
  /** The PKI root certificate, PEM. */
  readonly pkiRootCertificatePem: string;
  /** The PKI chain that signs `PKI` tokens. */
  readonly pkiChain: PkiChain;
  /** Requests received by the JWKS endpoint so far, failed ones included. */
  readonly jwksRequests: number;
  /** The claims a token minted now with these options would carry (fresh `jti` each call). */
  claims(options?: ClaimsOptions): Record<string, unknown>;
  /** Mints a token directly, bypassing the launcher socket and its limits. */
  mintToken(options?: MintTokenOptions): Promise<string>;
  /** Replaces the OIDC signing key; new tokens carry the new `kid`. */
  rotateKeys(options?: RotateKeysOptions): Promise<void>;
  /** Rewrites the default token file now and restarts its refresh schedule. */
  refreshTokenFile(): Promise<void>;
  /** The next launcher request(s) get this status and plain-text body instead of a token. */
  failNext(response: FailureResponse): void;
  /** The next launcher reply is held back this many milliseconds (calls queue, one per request). */
  delayNext(ms: number): void;
  /** The next JWKS request(s) get this status and body instead of the key set. */
  failNextJwks(response: FailureResponse): void;
  /** The next JWKS reply is held back this many milliseconds (calls queue, one per request). */
  delayNextJwks(ms: number): void;
  /** Drops every queued failure and delay (launcher and JWKS). */
  clearFaults(): void;
  /** Closes both servers, cancels timers and removes the socket, the token file and the temporary directory. Idempotent. */
  stop(): Promise<void>;
}
