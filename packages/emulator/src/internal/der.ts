// A minimal DER (X.690) encoder: just the universal types an X.509 v3 certificate
// needs. Every function returns the complete TLV encoding as a Buffer.

/** Universal and context-specific tags used by the encoder. */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Definite-length octets: short form below 128, long form (0x80 | n, n big-endian bytes) above. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid DER length ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: tag byte, length, content. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.sequence, Buffer.concat(items));
}

/** A SET OF, with elements sorted by their encodings as DER requires. */
export function set(...items: Uint8Array[]): Buffer {
  const sorted = [...items].sort((a, b) => Buffer.compare(a, b));
  return tlv(TAG.set, Buffer.concat(sorted));
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(TAG.null, Buffer.alloc(0));
}

/**
 * INTEGER, two's complement, minimal length. A Buffer is read as an unsigned
 * big-endian magnitude (certificate serial numbers, RSA moduli).
 */
export function integer(value: number | bigint | Uint8Array): Buffer {
  if (value instanceof Uint8Array) return tlv(TAG.integer, unsignedMagnitude(value));
  let n = BigInt(value);
  if (n >= 0n) {
    const hex = n.toString(16);
    return tlv(TAG.integer, unsignedMagnitude(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex")));
  }
  // Negative: the shortest two's complement representation.
  let length = 1;
  while (n < -(1n << BigInt(8 * length - 1))) length++;
  n += 1n << BigInt(8 * length);
  return tlv(TAG.integer, Buffer.from(n.toString(16).padStart(length * 2, "0"), "hex"));
}

function unsignedMagnitude(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = Buffer.from(bytes.subarray(start));
  if (trimmed.length === 0) return Buffer.from([0]);
  // A set top bit would read as negative: prefix a zero octet.
  return (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/** OBJECT IDENTIFIER from dotted form (`1.2.840.113549.1.1.11`). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`invalid OID ${dotted}`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new RangeError(`invalid OID ${dotted}`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) bytes.push(...base128(arc));
  return tlv(TAG.oid, Buffer.from(bytes));
}

function base128(value: bigint): number[] {
  const out = [Number(value & 0x7fn)];
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) out.unshift(Number(rest & 0x7fn) | 0x80);
  return out;
}

export function utf8String(value: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(value, "utf8"));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function printableString(value: string): Buffer {
  if (!PRINTABLE.test(value)) throw new RangeError("value has characters outside PrintableString");
  return tlv(TAG.printableString, Buffer.from(value, "ascii"));
}

export function octetString(content: Uint8Array): Buffer {
  return tlv(TAG.octetString, content);
}

/** BIT STRING whose content is whole octets (signatures, public keys). */
export function bitString(content: Uint8Array, unusedBits = 0): Buffer {
  if (unusedBits < 0 || unusedBits > 7) throw new RangeError("unused bits must be 0..7");
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), content]));
}

/**
 * A named-bit BIT STRING (keyUsage): bit 0 is the most significant bit of the
 * first octet; DER drops trailing zero bits.
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const octets = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) octets[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8);
  return bitString(octets, 7 - (highest % 8));
}

function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}

function checkDate(date: Date): void {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
}

/** UTCTime `YYMMDDHHMMSSZ`, for years 1950–2049. */
export function utcTime(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new RangeError("UTCTime covers 1950 to 2049 only");
  const text = `${twoDigits(year % 100)}${timeOfYear(date)}Z`;
  return tlv(TAG.utcTime, Buffer.from(text, "ascii"));
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ` (no fractional seconds, as RFC 5280 requires). */
export function generalizedTime(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError("GeneralizedTime covers years 0 to 9999");
  const text = `${String(year).padStart(4, "0")}${timeOfYear(date)}Z`;
  return tlv(TAG.generalizedTime, Buffer.from(text, "ascii"));
}

function timeOfYear(date: Date): string {
  return [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map(twoDigits)
    .join("");
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on. */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

/** `[n] EXPLICIT`: a constructed context-specific tag wrapping a complete encoding. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  if (tagNumber < 0 || tagNumber > 30) throw new RangeError("tag number must be 0..30");
  return tlv(0xa0 | tagNumber, inner);
}

/** `[n] IMPLICIT` on a primitive type: the content of `inner` under a context-specific tag. */
export function implicitPrimitive(tagNumber: number, content: Uint8Array): Buffer {
  if (tagNumber < 0 || tagNumber > 30) throw new RangeError("tag number must be 0..30");
  return tlv(0x80 | tagNumber, content);
}
