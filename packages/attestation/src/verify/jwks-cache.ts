import { KeyObject } from "node:crypto";
import { createLocalJWKSet, type JSONWebKeySet, type JWSHeaderParameters } from "jose";
import { type AttestationPolicyError, AttestationVerifierUnavailableError, reject } from "./errors.js";
import { FetchJsonError, fetchJson } from "./internal/bounded-fetch.js";
import { isJsonObject } from "./internal/payload.js";
import { fetchableUrlProblem } from "./internal/url.js";

/** Most keys a JWKS may hold; Google publishes two or three. */
const MAX_KEYS = 100;

/** Options of {@link JwksCache}, all durations in ms. */
export interface JwksCacheOptions {
  issuer: string;
  /** Pinned JWKS URL; when absent it is discovered once from the issuer, then pinned. */
  jwksUri: string | undefined;
  cacheMaxAgeMs: number;
  cooldownMs: number;
  maxStaleMs: number;
  httpTimeoutMs: number;
  maxResponseBytes: number;
  /** Allowed skew between the issuer's clock and ours, for telling a rotation from an unknown key. */
  clockToleranceMs: number;
  now: () => number;
  fetch: typeof globalThis.fetch;
}

interface KeySet {
  resolve: ReturnType<typeof createLocalJWKSet>;
  /** The `kid` of every entry (whatever its type: a token's `kid` is a string). */
  kids: ReadonlySet<unknown>;
  fetchedAt: number;
  /** Keys resolved from this set, by `kid` (`alg` is always RS256): a set never changes, neither does its answer. */
  resolved: Map<string, KeyObject>;
}

/**
 * The issuer's signing keys: discovery document → `jwks_uri` (pinned), then the JWKS,
 * fetched with {@link fetchJson} and handed to jose's `createLocalJWKSet`.
 *
 * - At most one fetch per `cooldownMs`, whatever triggers it (first use, cache age,
 *   unknown `kid`, a failed attempt); concurrent callers share one request.
 * - A key set is refreshed once older than `cacheMaxAgeMs`. If that fails, it stays in
 *   use until `cacheMaxAgeMs + maxStaleMs` after it was fetched; then callers get
 *   {@link AttestationVerifierUnavailableError}. jose's remote set has no such grace.
 * - An unknown `kid` is the token's fault (`unknown_key`) only when the key set that lacks
 *   it was fetched after the token was issued (`iat`, plus the clock tolerance): an
 *   issuer publishes a key before it signs with it. A key set fetched earlier may predate
 *   a key rotation; if the cooldown forbids fetching again, the verifier is unavailable
 *   (retryable, `retryAfterMs` until the next fetch). After a failed fetch it cannot
 *   tell either: unavailable.
 */
export class JwksCache {
  readonly #options: JwksCacheOptions;
  #jwksUri: string | undefined;
  #keys: KeySet | undefined;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  /** What the last fetch threw, when it failed; `undefined` after a success. */
  #lastFailure: { error: unknown } | undefined;
  #inflight: Promise<void> | undefined;

  constructor(options: JwksCacheOptions) {
    this.#options = options;
    this.#jwksUri = options.jwksUri;
  }

  /**
   * The key for `header` (`alg` RS256, `kid` set), fetching or refreshing the key set as
   * allowed. `issuedAt` reads the token's `iat` (seconds, unverified: it only decides
   * whether an unknown `kid` is final or retryable; both refuse the token).
   */
  async getKey(header: JWSHeaderParameters & { kid: string }, issuedAt: () => unknown): Promise<KeyObject> {
    const { cacheMaxAgeMs, maxStaleMs } = this.#options;
    if (this.#keys === undefined || this.#options.now() - this.#keys.fetchedAt >= cacheMaxAgeMs) await this.#refresh();
    let keys = this.#keys;
    if (keys === undefined) throw this.#unavailable("the issuer's signing keys could not be fetched");
    if (!keys.kids.has(header.kid)) {
      await this.#refresh();
      keys = this.#keys!;
      if (!keys.kids.has(header.kid)) {
        if (this.#lastFailure !== undefined) {
          throw this.#unavailable("the token's key is unknown and the JWKS could not be refreshed");
        }
        if (this.#mayPredate(keys, issuedAt())) {
          throw this.#unavailable(
            "the token's key is not in a JWKS fetched before the token was issued (a key rotation?)",
          );
        }
        throw reject("unknown_key", "no key of the issuer's JWKS has the token's kid", "kid");
      }
    }
    if (this.#options.now() - keys.fetchedAt > cacheMaxAgeMs + maxStaleMs) {
      throw this.#unavailable("the issuer's JWKS could not be refreshed and the cached keys are too old to use");
    }
    const known = keys.resolved.get(header.kid);
    // Stryker disable next-line ConditionalExpression: a cache; resolving again changes only the cost
    if (known !== undefined) return known;
    let resolved: Awaited<ReturnType<KeySet["resolve"]>>;
    try {
      resolved = await keys.resolve(header);
    } catch (error) {
      throw unusableKey(error);
    }
    // node:crypto verifies with a KeyObject; jose's WebCrypto key converts once per set and kid.
    const key = KeyObject.from(resolved as Parameters<typeof KeyObject.from>[0]);
    // Stryker disable next-line CallExpression: a cache; not remembering the key changes only the cost
    keys.resolved.set(header.kid, key);
    return key;
  }

  /**
   * Whether `keys` may have been fetched before the key that signed a token issued at
   * `iat` was published. A missing `iat`, or one in the future (refused later anyway),
   * makes the unknown `kid` final.
   */
  #mayPredate(keys: KeySet, iat: unknown): boolean {
    if (typeof iat !== "number") return false;
    const { clockToleranceMs, now } = this.#options;
    const issuedAtMs = iat * 1000;
    return issuedAtMs <= now() + clockToleranceMs && keys.fetchedAt < issuedAtMs + clockToleranceMs;
  }

  /** Loads the key set now (discovery, then JWKS) unless it is fresh; throws when no usable key set results. */
  async prefetch(): Promise<void> {
    if (this.#keys === undefined || this.#options.now() - this.#keys.fetchedAt >= this.#options.cacheMaxAgeMs) {
      await this.#refresh();
    }
    if (this.#keys === undefined) throw this.#unavailable("the issuer's signing keys could not be fetched");
  }

  /** Fetches the key set unless a fetch happened within the cooldown; never throws. */
  async #refresh(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    const now = this.#options.now();
    if (now - this.#lastAttemptAt < this.#options.cooldownMs) return;
    this.#lastAttemptAt = now;
    this.#inflight = this.#load()
      .then((keys) => {
        this.#keys = keys;
        this.#lastFailure = undefined;
      })
      .catch((error: unknown) => {
        this.#lastFailure = { error };
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  async #load(): Promise<KeySet> {
    const { issuer, httpTimeoutMs: timeoutMs, maxResponseBytes: maxBytes, fetch } = this.#options;
    const http = { fetch, timeoutMs, maxBytes };
    if (this.#jwksUri === undefined) {
      const discovery = await fetchJson(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, http);
      if (discovery.issuer !== issuer) {
        throw new FetchJsonError("the discovery document names another issuer than options.issuer (compared exactly)");
      }
      const problem = fetchableUrlProblem(discovery.jwks_uri);
      if (problem !== undefined) throw new FetchJsonError(`the discovery document's jwks_uri ${problem}`);
      this.#jwksUri = discovery.jwks_uri as string;
    }
    const jwks = await fetchJson(this.#jwksUri, http);
    const keys = jwks.keys;
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS) {
      throw new FetchJsonError(`the JWKS must hold between 1 and ${MAX_KEYS} keys`);
    }
    const kids = new Set<unknown>();
    for (const key of keys as unknown[]) {
      if (!isJsonObject(key)) throw new FetchJsonError("a JWKS entry is not an object");
      if ("d" in key || "k" in key) throw new FetchJsonError("the JWKS holds private or symmetric key material");
      kids.add(key.kid);
    }
    // What createLocalJWKSet checks (an array of objects) holds by now; what it throws anyway
    // fails this fetch like any other error.
    const resolve = createLocalJWKSet(jwks as unknown as JSONWebKeySet);
    return { resolve, kids, fetchedAt: this.#options.now(), resolved: new Map() };
  }

  #unavailable(message: string): AttestationVerifierUnavailableError {
    // Always after an attempt; the error clamps a time already past to 0.
    return new AttestationVerifierUnavailableError(`${message}; retry later`, {
      cause: this.#lastFailure?.error,
      retryAfterMs: this.#lastAttemptAt + this.#options.cooldownMs - this.#options.now(),
    });
  }
}

/**
 * Why jose's local JWKS resolver found no key for a `kid` the set does list: no entry with it
 * is usable for RS256 (another `kty`, `alg`, `use` or `key_ops`), several are, or the one
 * that is does not import. The header's `alg` was checked before, so nothing else reaches here.
 */
function unusableKey(error: unknown): AttestationPolicyError {
  const { code } = Object(error) as { code?: unknown };
  if (code === "ERR_JWKS_NO_MATCHING_KEY") {
    return reject("unknown_key", "no key of the issuer's JWKS with the token's kid is usable for RS256", "kid", error);
  }
  if (code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS") {
    return reject("unknown_key", "several RS256 keys of the issuer's JWKS have the token's kid", "kid", error);
  }
  return reject("signature", "the issuer's key with the token's kid could not be imported", "kid", error);
}
