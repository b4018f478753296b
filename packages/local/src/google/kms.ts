import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidOptionError } from "@confspace/core";
import {
  FaultQueue,
  type LocalRequest,
  type LocalServer,
  localServerHandle,
  newRequestRecord,
} from "../internal/local-server.js";
import {
  answerFault,
  authenticate,
  GoogleApiFailure,
  readJsonRequest,
  sendResult,
  startGoogleApiServer,
  type TokenSources,
} from "./internal/google-api.js";
import { compileIamPolicy, describePrincipal, type IamPolicy } from "./internal/iam-policy.js";
import { type CryptoKeyState, decryptRequest, encryptRequest, type KmsCall } from "./internal/kms-operations.js";
import type { LocalGoogleTokenIssuer, LocalIamBinding, LocalStaticAccessToken } from "./principals.js";

/** A symmetric (`ENCRYPT_DECRYPT`, software) CryptoKey of the local KMS. */
export interface LocalKmsKey {
  /** `projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY`. */
  name: string;
  /** The key's IAM policy: `roles/cloudkms.cryptoKeyEncrypterDecrypter`, `…Encrypter`, `…Decrypter` bindings. */
  bindings: LocalIamBinding[];
}

/** Options of {@link startLocalKms}. */
export interface LocalKmsOptions {
  keys: LocalKmsKey[];
  /** Servers whose access tokens callers present: the local STS (federated principals), the local IAM Credentials. */
  tokenIssuers: LocalGoogleTokenIssuer[];
  /** Fixed bearer tokens of other members, e.g. a collaborator's `user:alice@example.com`. Default none. */
  staticTokens?: LocalStaticAccessToken[];
  /** Time source (ms since the epoch) for token expiry. Default `Date.now`. */
  clock?: () => number;
}

/**
 * One KMS request, as recorded (never a token, plaintext or key material); `error` is
 * Google's canonical status of a failure (`PERMISSION_DENIED`, `INVALID_ARGUMENT`, …).
 */
export interface LocalKmsRequest extends LocalRequest {
  /** The KMS method, from the URL; `undefined` for other paths. */
  operation: "encrypt" | "decrypt" | undefined;
  /** The CryptoKey (or CryptoKeyVersion) named in the URL; `undefined` for other paths. */
  name: string | undefined;
  /** The caller as an IAM member (`principal://…/subject/S`, `serviceAccount:…`); `undefined` when unauthenticated. */
  caller: string | undefined;
  /** The `x-goog-user-project` header (quota project), when sent. */
  quotaProject: string | undefined;
}

/**
 * A running local Cloud KMS (REST surface, encrypt/decrypt). Faults and delays reach
 * every request; a fault without `body` answers Google's error JSON with `status` =
 * `code` (default: the google.rpc.Code of the HTTP status, e.g. 503 `UNAVAILABLE`).
 */
export interface LocalKms extends LocalServer<LocalKmsRequest> {
  /** `http://127.0.0.1:PORT` (Google: `https://cloudkms.googleapis.com`). */
  readonly endpoint: string;
  /**
   * Options that point `@google-cloud/kms`'s `KeyManagementServiceClient` here over its
   * REST transport: `{ fallback: true, protocol: "http", apiEndpoint: "127.0.0.1", port }`.
   * Add `authClient`.
   */
  readonly clientOptions: { fallback: true; protocol: "http"; apiEndpoint: string; port: number };
  /** Replaces a key's IAM policy (as `setIamPolicy`). */
  setIamPolicy(name: string, bindings: LocalIamBinding[]): void;
  /** Adds a new primary version to a key; older versions still decrypt (`usedPrimary: false`). */
  rotateKey(name: string): void;
}

const KEY_NAME =
  /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/keyRings\/[\w-]{1,63}\/cryptoKeys\/[\w-]{1,63}$/;
const PATH =
  /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/:]+)(\/cryptoKeyVersions\/(\d+))?:(encrypt|decrypt)$/;
const ACCEPTED_SCOPES = ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/cloudkms"];

/**
 * Starts Cloud KMS's REST `encrypt` and `decrypt` on 127.0.0.1 for the official
 * `@google-cloud/kms` client (REST transport) and plain HTTP callers. Real AES-256-GCM
 * per key version; per-key IAM bindings decide who may encrypt or decrypt, including
 * federated `principalSet://…/attribute.NAME/VALUE` members; everyone else gets Google's
 * 403 `PERMISSION_DENIED`.
 *
 * @example
 * ```ts
 * const kms = await startLocalKms({ tokenIssuers: [sts], keys: [{ name, bindings }] });
 * const client = new KeyManagementServiceClient({ ...kms.clientOptions, authClient });
 * const [{ plaintext }] = await client.decrypt({ name, ciphertext });
 * ```
 */
export async function startLocalKms(options: LocalKmsOptions): Promise<LocalKms> {
  const clock = options.clock ?? Date.now;
  const keys = new Map<string, CryptoKeyState>();
  const policies = new Map<string, IamPolicy>();
  for (const key of options.keys) {
    if (!KEY_NAME.test(key.name)) {
      throw new InvalidOptionError(
        "keys[].name",
        `startLocalKms: "${key.name}" is not projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY`,
      );
    }
    if (keys.has(key.name))
      throw new InvalidOptionError("keys[].name", `startLocalKms: key ${key.name} is listed twice`);
    keys.set(key.name, { versions: new Map([[1, randomBytes(32)]]), primary: 1 });
    policies.set(key.name, compileIamPolicy(`key ${key.name}`, key.bindings));
  }
  const sources: TokenSources = {
    issuers: options.tokenIssuers,
    staticTokens: new Map((options.staticTokens ?? []).map((token) => [token.token, token])),
  };
  const requests: LocalKmsRequest[] = [];
  const faults = new FaultQueue("startLocalKms");

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const match = PATH.exec(url.pathname);
    const quota = req.headers["x-goog-user-project"];
    const record: LocalKmsRequest = {
      ...newRequestRecord(req, clock()),
      operation: match?.[4] as "encrypt" | "decrypt" | undefined,
      name: match ? `${match[1]}${match[2] ?? ""}` : undefined,
      caller: undefined,
      quotaProject: typeof quota === "string" ? quota : undefined,
    };
    requests.push(record);
    const answer = (result: object | GoogleApiFailure) => {
      const failure = result instanceof GoogleApiFailure ? result : undefined;
      record.status = failure?.httpStatus ?? 200;
      record.error = failure?.status;
      sendResult(res, result);
    };
    if (await answerFault(faults, record, res)) return;
    if (!match || req.method !== "POST" || (match[4] === "decrypt" && match[2])) {
      return answer(
        new GoogleApiFailure("NOT_FOUND", `The requested URL ${url.pathname} was not found on this server.`),
      );
    }
    const keyName = match[1]!;
    const method = match[4] as "encrypt" | "decrypt";
    const principal = authenticate(req, sources, clock(), ACCEPTED_SCOPES);
    const call: KmsCall = {
      keyName,
      version: match[3] === undefined ? undefined : Number(match[3]),
      key: keys.get(keyName),
      policy: policies.get(keyName),
      // google.api enum encoding: `$alt=json;enum-encoding=int` asks for numbers.
      intEnums: /enum-encoding=int/.test(url.searchParams.get("$alt") ?? ""),
    };
    let result: object | GoogleApiFailure;
    if (principal instanceof GoogleApiFailure) result = principal;
    else {
      const fields =
        method === "encrypt"
          ? ["name", "plaintext", "additionalAuthenticatedData", "plaintextCrc32c", "additionalAuthenticatedDataCrc32c"]
          : [
              "name",
              "ciphertext",
              "additionalAuthenticatedData",
              "ciphertextCrc32c",
              "additionalAuthenticatedDataCrc32c",
            ];
      const body = await readJsonRequest(req, fields);
      if (body instanceof GoogleApiFailure) result = body;
      else
        result = method === "encrypt" ? encryptRequest(call, principal, body) : decryptRequest(call, principal, body);
    }
    record.caller = principal instanceof GoogleApiFailure ? undefined : describePrincipal(principal);
    answer(result);
  };

  const { port, close } = await startGoogleApiServer(handle);
  const known = (name: string): CryptoKeyState => {
    const key = keys.get(name);
    if (!key) throw new InvalidOptionError("name", `local KMS: no key ${name}`);
    return key;
  };
  return {
    ...localServerHandle(requests, faults, close),
    endpoint: `http://127.0.0.1:${port}`,
    clientOptions: { fallback: true, protocol: "http", apiEndpoint: "127.0.0.1", port },
    setIamPolicy: (name, bindings) => {
      known(name);
      policies.set(name, compileIamPolicy(`key ${name}`, bindings));
    },
    rotateKey: (name) => {
      const key = known(name);
      key.primary = Math.max(...key.versions.keys()) + 1;
      key.versions.set(key.primary, randomBytes(32));
    },
  };
}
