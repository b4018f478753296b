import { type KeyObject, sign } from "node:crypto";

function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/**
 * Compact JWS with RSASSA-PKCS1-v1_5 SHA-256 over whatever header it is given.
 * Signing by hand (rather than with jose's `SignJWT`) lets tests hand verifiers a
 * header that lies (`alg: "none"`, `jku`, a wrong `kid`) over a valid RS256 signature.
 */
export function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign("sha256", Buffer.from(signingInput, "ascii"), key);
  return `${signingInput}.${base64url(signature)}`;
}
