import { constants, createHash, createPrivateKey, createPublicKey, KeyObject, sign } from "node:crypto";
import { imageSignatureAlgorithm, keyIdFromPublicKey } from "@confspace/policy";
import { EmulatorOptionError } from "./errors.js";
import type { EmulatorImageSignature } from "./profile.js";

/**
 * A key that signed the workload's image with cosign, as the VM's `tee-signed-image-repos`
 * would offer it to the attestation service. Give exactly one of `publicKey` and
 * `privateKey`.
 */
export interface ImageSigner {
  /**
   * The signer's cosign public key, PEM `PUBLIC KEY` (`cosign.pub`): the token lists its
   * key ID and algorithm, with a placeholder `signature` (the emulator cannot sign without
   * the private key; no verifier checks it, the attestation service already did).
   */
  publicKey?: string;
  /**
   * The signer's private key (PEM PKCS #8, or a `KeyObject`), ECDSA P-256 or RSA: the
   * emulator signs the image's cosign SimpleSigning payload with it, so `signature` is a
   * real signature over `sha256(payload)`, verifiable with the public key.
   */
  privateKey?: string | KeyObject;
  /** Padding of an RSA key's signatures. Default `"pkcs1"` (cosign's default). */
  rsaPadding?: "pkcs1" | "pss";
}

/** The image a signature is for. */
interface SignedImage {
  image_digest: string;
  image_reference: string;
}

/**
 * `submods.container.image_signatures` for `image` signed by `signers`, as the attestation
 * service reports verified cosign signatures: `key_id` is the lowercase hex SHA-256 of the
 * signer's DER public key (`@confspace/policy`'s `keyIdFromPublicKey`), `signature` the
 * standard base64 of the signature, `signature_algorithm` the launcher's name for it.
 *
 * @throws {EmulatorOptionError} `imageSigners[i]` is not one of the two shapes, or its key
 *   is of a kind Confidential Space does not verify.
 */
export function signImage(signers: readonly ImageSigner[], image: SignedImage): EmulatorImageSignature[] {
  if (!Array.isArray(signers) || signers.length === 0) {
    throw new EmulatorOptionError(
      "imageSigners",
      "imageSigners must be a non-empty array (omit it for an unsigned image).",
    );
  }
  return signers.map((signer, index) => signOne(signer, image, `imageSigners[${index}]`));
}

function signOne(signer: ImageSigner, image: SignedImage, option: string): EmulatorImageSignature {
  if (
    typeof signer !== "object" ||
    signer === null ||
    (signer.publicKey === undefined) === (signer.privateKey === undefined)
  ) {
    throw new EmulatorOptionError(option, `${option} needs exactly one of publicKey and privateKey.`);
  }
  const unknown = Object.keys(signer).filter((key) => !["publicKey", "privateKey", "rsaPadding"].includes(key));
  if (unknown.length > 0)
    throw new EmulatorOptionError(`${option}.${unknown[0]}`, `${option}.${unknown[0]} is not an option.`);
  const padding = signer.rsaPadding ?? "pkcs1";
  if (padding !== "pkcs1" && padding !== "pss") {
    throw new EmulatorOptionError(`${option}.rsaPadding`, `${option}.rsaPadding must be "pkcs1" or "pss".`);
  }
  let privateKey: KeyObject | undefined;
  let publicKey: KeyObject;
  try {
    if (signer.privateKey !== undefined) {
      privateKey =
        signer.privateKey instanceof KeyObject
          ? signer.privateKey
          : createPrivateKey({ key: signer.privateKey, format: "pem" });
      if (privateKey.type !== "private") throw new TypeError("not a private key");
      publicKey = createPublicKey(privateKey);
    } else {
      publicKey = createPublicKey({ key: signer.publicKey as string, format: "pem" });
    }
  } catch (cause) {
    throw new EmulatorOptionError(
      option,
      `${option} holds no readable key (publicKey: a PEM PUBLIC KEY block; privateKey: PEM PKCS #8 or a private KeyObject).`,
      { cause },
    );
  }
  let algorithm: EmulatorImageSignature["signature_algorithm"];
  let keyId: string;
  try {
    algorithm = imageSignatureAlgorithm(publicKey, padding);
    keyId = keyIdFromPublicKey(publicKey);
  } catch (cause) {
    throw new EmulatorOptionError(option, `${option} must be an ECDSA P-256 or a 2048/3072/4096-bit RSA key.`, {
      cause,
    });
  }
  const payload = simpleSigningPayload(image, publicKey, algorithm);
  const signature =
    privateKey === undefined
      ? placeholder(keyId, image.image_digest)
      : sign("sha256", payload, algorithm === "RSASSA_PSS_SHA256" ? pss(privateKey) : privateKey);
  return { key_id: keyId, signature: signature.toString("base64"), signature_algorithm: algorithm };
}

function pss(key: KeyObject) {
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
}

/**
 * cosign's SimpleSigning payload for the image (the bytes a cosign signature covers), with
 * the public key and algorithm in `optional` as Confidential Space expects them.
 */
export function simpleSigningPayload(image: SignedImage, publicKey: KeyObject, algorithm: string): Buffer {
  // A profile may delete image_reference (null): the payload then names no repository.
  const reference = typeof image.image_reference === "string" ? image.image_reference : "";
  const repository = reference.replace(/(@sha256:[0-9a-f]+|:[^/:@]+)$/, "");
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": repository },
        image: { "docker-manifest-digest": image.image_digest },
        type: "cosign container image signature",
      },
      optional: {
        "dev.cosignproject.cosign/pub": Buffer.from(pem).toString("base64url"),
        "dev.cosignproject.cosign/sigalg": algorithm,
      },
    }),
  );
}

/** Stands in for a signature the emulator cannot make (no private key): fixed per key and image. */
function placeholder(keyId: string, digest: string): Buffer {
  return createHash("sha256").update(`confspace-emulator placeholder signature ${keyId} ${digest}`).digest();
}
