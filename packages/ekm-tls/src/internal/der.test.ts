import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { OPENSSL } from "../../test/tls-fixtures.js";
import {
  bitString,
  contextPrimitive,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  toPem,
  utf8String,
} from "./der.js";

describe("the DER writer", () => {
  it.each([
    ["2.5.4.3", "0603550403"],
    ["1.2.840.113549.1.9.14", "06092a864886f70d01090e"],
    ["1.2.840.10045.4.3.2", "06082a8648ce3d040302"],
    ["2.999.1", "0603883701"],
  ])("encodes the OID %s as X.690 says", (oid, hex) => {
    expect(objectIdentifier(oid).toString("hex")).toBe(hex);
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
    expect(() => objectIdentifier("2")).toThrow(RangeError);
    expect(() => objectIdentifier("1.2.x")).toThrow(RangeError);
    expect(() => smallInteger(128)).toThrow(RangeError);
  });

  it("writes structures openssl parses back field by field", () => {
    const der = sequence(
      smallInteger(0),
      set(sequence(objectIdentifier("2.5.4.3"), utf8String("é".repeat(100)))),
      bitString(Buffer.from([1, 2, 3])),
      contextPrimitive(2, Buffer.from("a.example")),
    );
    const out = execFileSync(OPENSSL, ["asn1parse", "-inform", "PEM"], { input: toPem("TEST", der), encoding: "utf8" });
    expect(out).toMatch(/INTEGER\s+:00/);
    expect(out).toContain("commonName");
    expect(out).toMatch(/UTF8STRING\s+:(é){100}/);
    expect(out).toContain("BIT STRING");
    expect(out).toMatch(/cont \[ 2 \]/);
  });
});
