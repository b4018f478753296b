/**
 * Test-only OIDC issuer on 127.0.0.1:0 with fault switches the emulator does not need
 * (oversized, redirecting, wrong media type, down). Never imported by shipped code.
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type JwksMode = "ok" | "down" | "huge" | "redirect" | "html" | "endless";

export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  jwksRequests(): number;
  discoveryRequests(): number;
  /** What the JWKS endpoint answers. */
  jwksMode: JwksMode;
  /** `issuer` in the discovery document; default the real one. */
  discoveryIssuer: string | undefined;
  /** Published keys, signing key first. */
  keys: TestKey[];
  rotate(options?: { keepPrevious?: boolean }): void;
  close(): Promise<void>;
}

export function newKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid: randomUUID(), privateKey, publicKey };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Signs a compact JWS with RS256 exactly as given (no validation of header or payload). */
export function signRs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(key).toString("base64url")}`;
}

/** Signs a compact JWS with HS256 using `secret` (for algorithm-confusion tests). */
export function signHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** Starts a local issuer whose JWKS publishes one fresh key. */
export async function startTestIssuer(): Promise<TestIssuer> {
  const requests: string[] = [];
  const state = {
    jwksMode: "ok" as JwksMode,
    discoveryIssuer: undefined as string | undefined,
    keys: [newKey()],
  };
  let base = "";
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    requests.push(path);
    if (path === "/.well-known/openid-configuration") {
      return json(res, { issuer: state.discoveryIssuer ?? base, jwks_uri: `${base}/jwks` });
    }
    if (path === "/jwks" || path === "/jwks-moved") {
      switch (state.jwksMode) {
        case "down":
          res.writeHead(503).end("unavailable");
          return;
        case "redirect":
          res.writeHead(302, { location: `${base}/jwks-moved` }).end();
          state.jwksMode = "ok";
          return;
        case "html":
          res.writeHead(200, { "content-type": "text/html" }).end(JSON.stringify(jwks(state.keys)));
          return;
        case "huge": {
          const padding = "x".repeat(70_000);
          return json(res, { ...jwks(state.keys), padding });
        }
        case "endless": {
          res.writeHead(200, { "content-type": "application/json" });
          const chunk = Buffer.alloc(16_384, 0x20);
          const pump = () => {
            while (res.write(chunk)) if (res.destroyed) return;
            if (!res.destroyed) res.once("drain", pump);
          };
          res.on("close", () => res.removeAllListeners("drain"));
          pump();
          return;
        }
        default:
          return json(res, jwks(state.keys));
      }
    }
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: base,
    jwksUri: `${base}/jwks`,
    requests,
    jwksRequests: () => requests.filter((p) => p.startsWith("/jwks")).length,
    discoveryRequests: () => requests.filter((p) => p.startsWith("/.well-known/")).length,
    get jwksMode() {
      return state.jwksMode;
    },
    set jwksMode(mode: JwksMode) {
      state.jwksMode = mode;
    },
    get discoveryIssuer() {
      return state.discoveryIssuer;
    },
    set discoveryIssuer(value: string | undefined) {
      state.discoveryIssuer = value;
    },
    get keys() {
      return state.keys;
    },
    set keys(value: TestKey[]) {
      state.keys = value;
    },
    rotate(options) {
      state.keys = options?.keepPrevious ? [newKey(), ...state.keys] : [newKey()];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function jwks(keys: TestKey[]) {
  return {
    keys: keys.map(({ kid, publicKey }) => ({ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" })),
  };
}

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Production-like Confidential Space claims at `nowSeconds`. */
export function goodClaims(issuer: string, audience: string, nowSeconds: number): Record<string, unknown> {
  return {
    aud: audience,
    iss: issuer,
    sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
    iat: nowSeconds - 60,
    nbf: nowSeconds - 60,
    exp: nowSeconds + 3540,
    hwmodel: "GCP_AMD_SEV",
    swname: "CONFIDENTIAL_SPACE",
    swversion: ["250301"],
    dbgstat: "disabled-since-boot",
    secboot: true,
    google_service_accounts: ["workload@project.iam.gserviceaccount.com"],
    submods: {
      confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
      container: { image_digest: `sha256:${"a".repeat(64)}`, restart_policy: "Never" },
      gce: { project_id: "project", project_number: "123456789012" },
    },
  };
}
