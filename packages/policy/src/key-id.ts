import { createHash, createPublicKey, KeyObject } from "node:crypto";
import { InvalidOptionError } from "@confspace/core";

/**
 * `signature_algorithm` values of `submods.container.image_signatures[]`, as the
 * launcher names cosign's algorithms (go-tpm-tools `verifier/oci`): ECDSA P-256, RSA with
 * PKCS #1 v1.5 or PSS padding (2048, 3072 or 4096 bits), each with SHA-256.
 */
export type ImageSignatureAlgorithm = "ECDSA_P256_SHA256" | "RSASSA_PKCS1V15_SHA256" | "RSASSA_PSS_SHA256";

/**
 * The image-signature key ID of a cosign public key, as the attestation service reports it
 * in `submods.container.image_signatures[].key_id` and as `imageSignatures.keyIds` lists
 * it: the lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo. The same as
 *
 * ```sh
 * openssl pkey -pubin -in cosign.pub -outform DER | sha256sum
 * ```
 *
 * `publicKey` is a PEM `PUBLIC KEY` block (what `cosign generate-key-pair` writes to
 * `cosign.pub`, or `gcloud kms keys versions get-public-key` prints) or a public
 * `KeyObject`. A private key is refused: a key ID is published, its private key never is.
 *
 * @throws InvalidOptionError (`option` `publicKey`) when it is not a public key.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { keyIdFromPublicKey } from "@confspace/policy";
 *
 * const builder = keyIdFromPublicKey(readFileSync("cosign.pub", "utf8"));
 * ```
 */
export function keyIdFromPublicKey(publicKey: string | KeyObject): string {
  return createHash("sha256").update(spki(publicKey)).digest("hex");
}

/**
 * The `signature_algorithm` a signature by `publicKey` carries: `ECDSA_P256_SHA256` for a
 * P-256 key, `RSASSA_PSS_SHA256` for an `rsa-pss` key, and `padding`'s choice for a plain
 * RSA key (whose key does not say which padding its signatures use; default PKCS #1 v1.5,
 * cosign's default for RSA keys). Other keys (P-384, Ed25519) are refused: Confidential
 * Space does not verify them.
 *
 * @throws InvalidOptionError (`option` `publicKey`) for any other key.
 */
export function imageSignatureAlgorithm(
  publicKey: string | KeyObject,
  // Stryker disable next-line StringLiteral: only "pss" is looked at, any other default means PKCS #1 v1.5
  padding: "pkcs1" | "pss" = "pkcs1",
): ImageSignatureAlgorithm {
  const key = toPublicKey(publicKey);
  const details = key.asymmetricKeyDetails ?? {};
  // Only EC keys have a named curve.
  if (details.namedCurve === "prime256v1") return "ECDSA_P256_SHA256";
  const bits = details.modulusLength ?? 0;
  const rsaSize = bits === 2048 || bits === 3072 || bits === 4096;
  if (key.asymmetricKeyType === "rsa-pss" && rsaSize) return "RSASSA_PSS_SHA256";
  if (key.asymmetricKeyType === "rsa" && rsaSize)
    return padding === "pss" ? "RSASSA_PSS_SHA256" : "RSASSA_PKCS1V15_SHA256";
  throw new InvalidOptionError(
    "publicKey",
    "publicKey must be an ECDSA P-256 or a 2048/3072/4096-bit RSA key (the keys Confidential Space verifies cosign signatures with)",
  );
}

function spki(publicKey: string | KeyObject): Buffer {
  return toPublicKey(publicKey).export({ type: "spki", format: "der" });
}

function toPublicKey(publicKey: string | KeyObject): KeyObject {
  if (publicKey instanceof KeyObject) {
    if (publicKey.type !== "public") refuse();
    return publicKey;
  }
  // Stryker disable next-line ConditionalExpression,LogicalOperator: RegExp.test stringifies a non-string, which never holds the PEM header
  if (typeof publicKey !== "string" || !/-----BEGIN PUBLIC KEY-----/.test(publicKey) || /PRIVATE KEY/.test(publicKey)) {
    refuse();
  }
  try {
    return createPublicKey({ key: publicKey, format: "pem" });
  } catch {
    throw new InvalidOptionError("publicKey", "publicKey is not a readable PEM public key");
  }
}

function refuse(): never {
  throw new InvalidOptionError(
    "publicKey",
    'publicKey must be a PEM "PUBLIC KEY" block (cosign.pub) or a public KeyObject, never a private key',
  );
}
