import type { ConfidentialSpaceClaims } from "./claims.js";
import { TokenMalformedError } from "./errors.js";
import { MAX_TOKEN_BYTES, parseJwt } from "./internal/jwt.js";

const NUMERIC_CLAIMS = ["exp", "iat", "nbf"] as const;
const STRING_CLAIMS = ["iss", "sub"] as const;

/**
 * Reads the claims of an attestation token WITHOUT checking its signature, issuer,
 * audience or expiry. The result is UNTRUSTED: use it for logging, debugging or to
 * pick a configuration, never for an access decision. Relying parties verify with
 * `@confspace/attestation/verify`.
 *
 * Throws {@link TokenMalformedError} (`ERR_TOKEN_MALFORMED`) when the input is larger
 * than 64 KiB, is not a compact JWS with JSON header and payload, or carries a
 * registered claim of the wrong type. The message never quotes the token.
 *
 * @example
 * ```ts
 * const claims = decodeClaims(await source.getToken());
 * logger.info("running as", { digest: claims.submods.container?.image_digest }); // untrusted
 * ```
 */
export function decodeClaims(token: string): ConfidentialSpaceClaims {
  const parsed = parseJwt(token, MAX_TOKEN_BYTES);
  if (!parsed.ok) throw new TokenMalformedError(`Cannot decode the attestation token: ${parsed.reason}`);
  const { payload } = parsed;
  for (const name of NUMERIC_CLAIMS) {
    if (payload[name] !== undefined && (typeof payload[name] !== "number" || !Number.isFinite(payload[name]))) {
      throw new TokenMalformedError(`Cannot decode the attestation token: claim ${name} is not a number`);
    }
  }
  for (const name of STRING_CLAIMS) {
    if (payload[name] !== undefined && typeof payload[name] !== "string") {
      throw new TokenMalformedError(`Cannot decode the attestation token: claim ${name} is not a string`);
    }
  }
  return payload as ConfidentialSpaceClaims;
}
