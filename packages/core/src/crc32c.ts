// CRC32C (Castagnoli, reflected polynomial 0x82F63B78). One table, built once.
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC32C (Castagnoli) of `data`, as an unsigned 32-bit number: the checksum Cloud KMS
 * carries in its `*Crc32c` fields. Google asks clients to send one with each ciphertext
 * and AAD and to check the one that comes back with the plaintext ("Verifying end-to-end
 * data integrity"); confspace's KMS clients and its local KMS stand-in share this one.
 *
 * @example
 * ```ts
 * import { crc32c } from "@confspace/core";
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
