import { generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";

const generateRsaKeyPair = promisify(generateKeyPair);

/** One OIDC signing key: the private half signs, the public half is published. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

async function createSigningKey(modulusLength: number): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateRsaKeyPair("rsa", { modulusLength });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, "sha256");
  return { kid, privateKey, publicJwk: { ...jwk, alg: "RS256", kid, use: "sig" } };
}

/**
 * The issuer's RS256 keys. Tokens are signed with the current key; after a rotation
 * the previous key stays published (as Google keeps retired keys in its JWKS for a
 * while) until the next rotation, unless the rotation drops it.
 */
export class SigningKeyRing {
  #current: SigningKey;
  #previous: SigningKey | undefined;
  readonly #modulusLength: number;

  private constructor(current: SigningKey, modulusLength: number) {
    this.#current = current;
    this.#modulusLength = modulusLength;
  }

  static async create(modulusLength = 2048): Promise<SigningKeyRing> {
    return new SigningKeyRing(await createSigningKey(modulusLength), modulusLength);
  }

  get current(): SigningKey {
    return this.#current;
  }

  /** The JWKS document: current key first. */
  jwks(): { keys: JWK[] } {
    const keys = [this.#current.publicJwk];
    if (this.#previous) keys.push(this.#previous.publicJwk);
    return { keys: keys.map((key) => ({ ...key })) };
  }

  async rotate(keepPrevious: boolean): Promise<void> {
    const next = await createSigningKey(this.#modulusLength);
    this.#previous = keepPrevious ? this.#current : undefined;
    this.#current = next;
  }
}
