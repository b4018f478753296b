import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.js";

describe("crc32c", () => {
  it.each([
    ["", 0],
    ["123456789", 0xe3069283], // the standard check value of CRC-32C
    ["a", 0xc1d04330],
  ])("crc32c(%j) = %d", (text, expected) => {
    expect(crc32c(Buffer.from(text))).toBe(expected);
  });

  it("matches 32 zero bytes' known value (RFC 3720 B.4)", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
});
