// AES-256-GCM with a data key, as the example's operator seals a message and the workload
// opens it: base64(nonce ‖ ciphertext ‖ tag). The data key itself only ever travels
// wrapped by Vault's transit key.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export function seal(key: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  return Buffer.concat([nonce, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]).toString(
    "base64",
  );
}

export function open(key: Buffer, sealed: string): string {
  const bytes = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString("utf8");
}
