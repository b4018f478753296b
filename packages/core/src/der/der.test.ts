import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  bitString,
  boolean,
  children,
  DerError,
  decodeOid,
  encodeLength,
  expect as expectTag,
  explicit,
  generalizedTime,
  implicit,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  printableString,
  readDer,
  sequence,
  set,
  TAG,
  toPem,
  utcTime,
  utf8String,
  x509Time,
} from "./index.js";

const OPENSSL = "/usr/bin/openssl";

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
    expect(hex(implicit(0, Buffer.from([1, 2])))).toBe("80020102");
  });
});

describe("the DER writer", () => {
  it.each([
    ["2.5.4.3", "0603550403"],
    ["1.2.840.113549.1.9.14", "06092a864886f70d01090e"],
    ["1.2.840.10045.4.3.2", "06082a8648ce3d040302"],
    ["2.999.1", "0603883701"],
  ])("encodes the OID %s as X.690 says", (dotted, expected) => {
    expect(hex(oid(dotted))).toBe(expected);
  });

  it.each([
    [0, "0400"],
    [127, "047f"],
    [128, "048180"],
    [255, "0481ff"],
    [256, "04820100"],
    [70_000, "0483011170"],
  ])("uses the shortest length form for %i bytes", (length, prefix) => {
    expect(
      octetString(Buffer.alloc(length))
        .subarray(0, prefix.length / 2)
        .toString("hex"),
    ).toBe(prefix);
  });

  it("refuses what it cannot encode", () => {
    expect(() => oid("2")).toThrow(RangeError);
    expect(() => oid("1.2.x")).toThrow(RangeError);
    expect(() => integer(1.5)).toThrow(RangeError);
  });

  it("writes structures openssl parses back field by field", () => {
    const der = sequence(
      integer(0),
      set(sequence(oid("2.5.4.3"), utf8String("é".repeat(100)))),
      bitString(Buffer.from([1, 2, 3])),
      implicit(2, Buffer.from("a.example")),
    );
    const out = execFileSync(OPENSSL, ["asn1parse", "-inform", "PEM"], { input: toPem("TEST", der), encoding: "utf8" });
    expect(out).toMatch(/INTEGER\s+:00/);
    expect(out).toContain("commonName");
    expect(out).toMatch(/UTF8STRING\s+:(é){100}/);
    expect(out).toContain("BIT STRING");
    expect(out).toMatch(/cont \[ 2 \]/);
  });
});

describe("the DER reader", () => {
  it("reads back what the writer wrote: tags, contents, raw encodings and children", () => {
    const inner = [integer(5), oid("2.5.4.3"), utf8String("x".repeat(200))];
    const outer = readDer(sequence(...inner));
    expect(outer.tag).toBe(TAG.sequence);
    const parts = children(outer);
    expect(parts.map((part) => part.tag)).toEqual([TAG.integer, TAG.oid, TAG.utf8String]);
    expect(parts.map((part) => hex(part.raw))).toEqual(inner.map(hex));
    expect(decodeOid(expectTag(parts[1], TAG.oid, "an OID").value)).toBe("2.5.4.3");
    expect(parts[2]?.value.toString()).toBe("x".repeat(200));
  });

  it.each(["1.2.840.113549.1.1.11", "2.5.29.19", "1.3.6.1.4.1.11129", "2.999.1", "0.9.2342"])(
    "decodes the OID %s it encodes",
    (dotted) => {
      expect(decodeOid(readDer(oid(dotted)).value)).toBe(dotted);
    },
  );

  it.each([
    ["trailing bytes", "050000", "trailing bytes"],
    ["a truncated value", "0403aabb", "truncated"],
    ["a truncated length", "0482", "truncated"],
    ["an indefinite length", "30800000", "indefinite"],
    ["a long form below 128", "04817f", "non-minimal"],
    ["a length with a leading zero octet", "0482008000", "non-minimal"],
    ["a length of more than 3 octets", "048401000000", "too large"],
    ["a multi-byte tag", "1f0100", "multi-byte"],
    ["one byte", "30", "truncated"],
  ])("refuses %s", (_name, input, message) => {
    expect(() => readDer(Buffer.from(input, "hex"))).toThrow(DerError);
    expect(() => readDer(Buffer.from(input, "hex"))).toThrow(message);
  });

  it("refuses children of a primitive value, an unexpected tag and malformed OIDs", () => {
    expect(() => children(readDer(integer(1)))).toThrow(DerError);
    expect(() => expectTag(readDer(integer(1)), TAG.sequence, "a SEQUENCE")).toThrow("expected a SEQUENCE");
    expect(() => expectTag(undefined, TAG.sequence, "a SEQUENCE")).toThrow(DerError);
    expect(() => decodeOid(Buffer.alloc(0))).toThrow("malformed object identifier");
    expect(() => decodeOid(Buffer.from([0x2a, 0x86]))).toThrow("malformed object identifier");
    expect(() => decodeOid(Buffer.from([0x2a, 0x80, 0x01]))).toThrow("non-minimal object identifier");
    expect(() => decodeOid(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toThrow("too large");
  });
});
