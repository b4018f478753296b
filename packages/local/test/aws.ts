// Test-only helpers for the local AWS servers: a tiny OIDC issuer and raw SigV4-signed requests.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export interface TestIssuer {
  url: string;
  privateKey: CryptoKey;
  /** A key the JWKS does not hold. */
  foreignKey: CryptoKey;
  mint(claims?: JWTPayload, edit?: (claims: Record<string, unknown>) => void, key?: CryptoKey): Promise<string>;
  stop(): Promise<void>;
}

export const KID = "test-key-1";

/** An OIDC issuer on loopback: discovery document and JWKS with one RS256 key. */
export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const { privateKey: foreignKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  let url = "";
  const server: Server = createServer((req, res) => {
    const body =
      req.url === "/.well-known/openid-configuration"
        ? { issuer: url, jwks_uri: `${url}/jwks` }
        : req.url === "/jwks"
          ? { keys: [jwk] }
          : undefined;
    res.writeHead(body ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    privateKey,
    foreignKey,
    async mint(claims = {}, edit, key = privateKey) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: url,
        sub: "workload-1",
        iat: now,
        nbf: now,
        exp: now + 3600,
        ...claims,
      };
      edit?.(payload);
      return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: KID, typ: "JWT" }).sign(key);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends a request exactly as given (no header rewriting beyond Node's own). */
export function send(
  endpoint: string,
  init: { method: string; path: string; headers: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: init.method, path: init.path, headers: init.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

export interface SignOptions {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
  service: string;
  signingDate?: Date;
}

/** Signs a request with the SDK's SigV4 signer and returns its headers. */
export async function sign(
  endpoint: string,
  init: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers: Record<string, string>;
    body?: string | Buffer;
  },
  options: SignOptions,
): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      sessionToken: options.sessionToken,
    },
    region: options.region ?? "us-east-1",
    service: options.service,
    sha256: Sha256,
    uriEscapePath: options.service !== "s3",
  });
  const signed = await signer.sign(
    {
      method: init.method,
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: init.path,
      query: init.query ?? {},
      headers: { host: url.host, ...init.headers },
      body: init.body,
    },
    { signingDate: options.signingDate },
  );
  return signed.headers as Record<string, string>;
}

/** The text of the first `<name>` element, or undefined. */
export function xmlText(xml: string, name: string): string | undefined {
  const text = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  return text
    ?.replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
