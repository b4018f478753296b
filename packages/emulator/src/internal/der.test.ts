import { describe, expect, it } from "vitest";
import {
  bitString,
  boolean,
  encodeLength,
  explicit,
  generalizedTime,
  implicitPrimitive,
  integer,
  namedBits,
  nullValue,
  oid,
  printableString,
  sequence,
  set,
  utcTime,
  utf8String,
  x509Time,
} from "./der.js";

const hex = (buffer: Buffer) => buffer.toString("hex");

describe("DER lengths", () => {
  it.each([
    [0, "00"],
    [127, "7f"],
    [128, "8180"],
    [255, "81ff"],
    [256, "820100"],
    [65536, "83010000"],
  ])("encodes %i as %s", (length, expected) => {
    expect(hex(encodeLength(length))).toBe(expected);
  });

  it("rejects negative and fractional lengths", () => {
    expect(() => encodeLength(-1)).toThrow(RangeError);
    expect(() => encodeLength(1.5)).toThrow(RangeError);
  });

  it("uses the long form inside a TLV longer than 127 bytes", () => {
    const encoded = sequence(Buffer.alloc(200));
    expect(hex(encoded.subarray(0, 3))).toBe("3081c8");
    expect(encoded.length).toBe(203);
  });
});

describe("DER INTEGER", () => {
  it.each([
    [0, "020100"],
    [1, "020101"],
    [127, "02017f"],
    [128, "02020080"],
    [256, "02020100"],
    [-1, "0201ff"],
    [-128, "020180"],
    [-129, "0202ff7f"],
    [-256, "0202ff00"],
  ])("encodes %i minimally in two's complement", (value, expected) => {
    expect(hex(integer(value))).toBe(expected);
  });

  it("encodes bigints beyond 2^53", () => {
    expect(hex(integer(2n ** 64n))).toBe("0209010000000000000000");
  });

  it("reads a byte array as an unsigned magnitude: strips leading zeros, adds one before a high bit", () => {
    expect(hex(integer(Buffer.from([0x00, 0x00, 0x7f])))).toBe("02017f");
    expect(hex(integer(Buffer.from([0x80, 0x01])))).toBe("0203008001");
    expect(hex(integer(Buffer.from([0x00])))).toBe("020100");
    expect(hex(integer(new Uint8Array(0)))).toBe("020100");
  });
});

describe("DER OBJECT IDENTIFIER", () => {
  it.each([
    ["1.2.840.113549.1.1.11", "06092a864886f70d01010b"],
    ["2.5.29.19", "0603551d13"],
    ["2.5.4.3", "0603550403"],
    ["1.3.6.1.4.1.11129", "06072b06010401d679"],
  ])("encodes %s", (dotted, expected) => {
    expect(hex(oid(dotted))).toBe(expected);
  });

  it.each(["1", "1.x.3", "3.1", "1.40", ""])("rejects the malformed OID %j", (dotted) => {
    expect(() => oid(dotted)).toThrow(RangeError);
  });
});

describe("DER times", () => {
  it("writes UTCTime as YYMMDDHHMMSSZ", () => {
    expect(utcTime(new Date("2025-03-01T02:04:06Z")).toString("latin1")).toBe("\x17\x0d250301020406Z");
  });

  it("writes GeneralizedTime as YYYYMMDDHHMMSSZ without fractions", () => {
    expect(generalizedTime(new Date("2050-01-01T00:00:00.999Z")).toString("latin1")).toBe("\x18\x0f20500101000000Z");
  });

  it("picks UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280)", () => {
    expect(x509Time(new Date("2049-12-31T23:59:59Z"))[0]).toBe(0x17);
    expect(x509Time(new Date("2050-01-01T00:00:00Z"))[0]).toBe(0x18);
    expect(x509Time(new Date("1949-12-31T23:59:59Z"))[0]).toBe(0x18);
  });

  it("refuses UTCTime outside 1950–2049 and invalid dates", () => {
    expect(() => utcTime(new Date("2050-01-01T00:00:00Z"))).toThrow(RangeError);
    expect(() => utcTime(new Date("nope"))).toThrow(RangeError);
  });
});

describe("DER strings, bits and structure", () => {
  it("encodes BOOLEAN, NULL and UTF8String", () => {
    expect(hex(boolean(true))).toBe("0101ff");
    expect(hex(boolean(false))).toBe("010100");
    expect(hex(nullValue())).toBe("0500");
    expect(hex(utf8String("é"))).toBe("0c02c3a9");
  });

  it("restricts PrintableString to its alphabet", () => {
    expect(hex(printableString("A b"))).toBe("1303412062");
    expect(() => printableString("a@b")).toThrow(RangeError);
  });

  it("prefixes BIT STRING content with the unused-bit count", () => {
    expect(hex(bitString(Buffer.from([0xab])))).toBe("030200ab");
    expect(() => bitString(Buffer.alloc(1), 8)).toThrow(RangeError);
  });

  it.each([
    [[5, 6], "03020106"], // keyCertSign + cRLSign
    [[0], "03020780"], // digitalSignature
    [[0, 5, 6], "03020186"],
    [[8], "0303070080"], // decipherOnly: first bit of the second octet
  ])("encodes named bits %j without trailing zero bits", (bits, expected) => {
    expect(hex(namedBits(bits))).toBe(expected);
  });

  it("sorts SET OF members by encoding", () => {
    expect(hex(set(integer(2), integer(1)))).toBe("3106020101020102");
  });

  it("wraps EXPLICIT tags as constructed and IMPLICIT primitives under 0x80", () => {
    expect(hex(explicit(0, integer(2)))).toBe("a003020102");
    expect(hex(explicit(3, sequence()))).toBe("a3023000");
    expect(hex(implicitPrimitive(0, Buffer.from([1, 2])))).toBe("80020102");
  });
});
