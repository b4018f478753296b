import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4 + IV_BYTES;

/**
 * Ciphertext of the local KMS: format byte, key version (uint32 BE), 12-byte IV,
 * AES-256-GCM ciphertext, 16-byte tag. The AAD is the caller's. Each key version has its
 * own random 256-bit key, so a ciphertext is useless with any other key.
 */
export function seal(key: Buffer, version: number, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const header = Buffer.alloc(5);
  header.writeUInt8(FORMAT, 0);
  header.writeUInt32BE(version, 1);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
}

/** The key version a ciphertext names, or `undefined` when it is not one of ours. */
export function ciphertextVersion(ciphertext: Buffer): number | undefined {
  if (ciphertext.length < HEADER_BYTES + TAG_BYTES || ciphertext[0] !== FORMAT) return undefined;
  return ciphertext.readUInt32BE(1);
}

/** Opens a ciphertext; `undefined` when the tag does not verify (wrong key, AAD or bytes). */
export function open(key: Buffer, ciphertext: Buffer, aad: Buffer): Buffer | undefined {
  const iv = ciphertext.subarray(5, HEADER_BYTES);
  const tag = ciphertext.subarray(ciphertext.length - TAG_BYTES);
  const body = ciphertext.subarray(HEADER_BYTES, ciphertext.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}
