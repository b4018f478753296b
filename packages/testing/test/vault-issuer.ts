// A minimal OIDC issuer for the local Vault's tests: discovery and JWKS on loopback, and
// RS256 tokens with Confidential-Space-shaped claims that a test can edit before signing.

import { createSign, KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair } from "jose";

export interface VaultTestIssuer {
  url: string;
  /** Claims of a token issued at `nowMs` with the given lifetime. */
  claims(nowMs: number, audience: string, lifetimeSeconds?: number): Record<string, unknown>;
  /** Signs with the issuer's key after `mutateClaims` / `mutateHeader` (a lying header keeps an RS256 signature). */
  mint(options: {
    nowMs: number;
    audience: string;
    issuedAt?: number;
    lifetimeSeconds?: number;
    mutateClaims?: (claims: Record<string, unknown>) => void;
    mutateHeader?: (header: Record<string, unknown>) => void;
  }): string;
  stop(): Promise<void>;
}

export async function startVaultTestIssuer(): Promise<VaultTestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "vault-test-1", alg: "RS256", use: "sig" };
  const signingKey = KeyObject.from(privateKey as CryptoKey);
  let url = "";
  const server: Server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration")
      res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
    else if (req.url === "/jwks") res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const claims = (nowMs: number, audience: string, lifetimeSeconds = 3600, issuedAt = Math.floor(nowMs / 1000)) => ({
    iss: url,
    aud: audience,
    sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/vm",
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + lifetimeSeconds,
    jti: crypto.randomUUID(),
    hwmodel: "GCP_AMD_SEV",
    swname: "CONFIDENTIAL_SPACE",
    oemid: 11129,
    submods: { container: { image_reference: "us-docker.pkg.dev/p/confspace/app:1" } },
  });
  return {
    url,
    claims: (nowMs, audience, lifetimeSeconds) => claims(nowMs, audience, lifetimeSeconds),
    mint(options) {
      const body: Record<string, unknown> = claims(
        options.nowMs,
        options.audience,
        options.lifetimeSeconds,
        options.issuedAt,
      );
      options.mutateClaims?.(body);
      const header: Record<string, unknown> = { alg: "RS256", kid: jwk.kid, typ: "JWT" };
      options.mutateHeader?.(header);
      const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(body)).toString("base64url")}`;
      const signature = createSign("RSA-SHA256").update(input).sign(signingKey).toString("base64url");
      return `${input}.${signature}`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
