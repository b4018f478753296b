// The workload side of the broker protocol for tests: open a bound TLS 1.3 connection,
// mint an attestation token carrying the connection's EKM nonce with the emulator, send it.
import type { IncomingHttpHeaders } from "node:http";
import {
  type BoundConnection,
  type BoundTlsOptions,
  brokerEkmOptions,
  brokerNonce,
  connectBound,
} from "@confspace/ekm-tls";
import type { MintTokenOptions } from "@confspace/emulator";

/** Mints a token for a nonce (the emulator's `mintToken`, usually). */
export type Minter = (options: MintTokenOptions) => Promise<string>;

export interface WorkloadRequestOptions {
  /** The broker's attestation audience (also the EKM context). */
  audience: string;
  /** Mints tokens: `emulator.mintToken.bind(emulator)`. */
  mint: Minter;
  /** TLS options for connectBound (`ca`, client `cert`/`key`). */
  tls: BoundTlsOptions;
  /** Request fields besides `attestation_token`. Default `{ provider: "azure", scope: STORAGE_SCOPE }`. */
  body?: Record<string, unknown>;
  /** Extra mint options (token type, mutateClaims…). `audience` and `nonces` default to the binding. */
  token?: Partial<MintTokenOptions>;
  /** Computes the nonces to put in the token from this connection's nonce. Default `[nonce]`. */
  nonces?: (nonce: string) => string[] | undefined;
  /** Use this token instead of minting one. */
  rawToken?: string;
  /** Send this exact body. */
  rawBody?: string | Uint8Array;
  /** Request headers. Default `content-type: application/json`. */
  headers?: Record<string, string>;
  /** Keep the connection open (the caller closes `connection`). */
  keepOpen?: boolean;
}

export interface WorkloadResponse {
  status: number;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown>;
  text: string;
  /** The attestation token that was sent. */
  token: string;
  /** The connection's binding nonce. */
  nonce: string;
  connection: BoundConnection;
}

export const STORAGE_SCOPE = "https://storage.azure.com/.default";

/** Opens a bound connection to `url`. */
export function connectWorkload(url: string, audience: string, tls: BoundTlsOptions): Promise<BoundConnection> {
  return connectBound(url, { ...brokerEkmOptions(audience), tls, timeoutMs: 20_000, requestTimeoutMs: 20_000 });
}

/** One token request over a fresh bound connection. */
export async function workloadRequest(url: string, options: WorkloadRequestOptions): Promise<WorkloadResponse> {
  const connection = await connectWorkload(url, options.audience, options.tls);
  try {
    return await sendOn(connection, options);
  } finally {
    if (!options.keepOpen) await connection.close();
  }
}

/** One token request on an already open bound connection. */
export async function sendOn(connection: BoundConnection, options: WorkloadRequestOptions): Promise<WorkloadResponse> {
  const nonce = brokerNonce(connection.ekm);
  const nonces = options.nonces ? options.nonces(nonce) : [nonce];
  const token =
    options.rawToken ??
    (await options.mint({
      audience: options.audience,
      ...(nonces === undefined ? {} : { nonces }),
      ...options.token,
    }));
  const body =
    options.rawBody ??
    JSON.stringify({ attestation_token: token, ...(options.body ?? { provider: "azure", scope: STORAGE_SCOPE }) });
  const res = await connection.request({
    method: "POST",
    path: "/v1/token",
    headers: options.headers ?? { "content-type": "application/json" },
    body,
  });
  const text = res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the test inspects `text`
  }
  return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, json, text, token, nonce, connection };
}
