import { describe, expect, it } from "vitest";
import { BROKER_EKM_LABEL, BROKER_EKM_LENGTH, brokerEkmOptions, brokerNonce } from "./broker-binding.js";
import { EkmArgumentError } from "./errors.js";

describe("broker binding", () => {
  it("uses the v1 label and 32 bytes", () => {
    expect(BROKER_EKM_LABEL).toBe("EXPORTER-confspace-broker-v1");
    expect(BROKER_EKM_LENGTH).toBe(32);
  });

  it("brokerEkmOptions puts the audience in the context", () => {
    expect(brokerEkmOptions("https://broker.example")).toEqual({
      label: BROKER_EKM_LABEL,
      context: "https://broker.example",
      length: 32,
    });
  });

  it("brokerEkmOptions refuses an empty audience", () => {
    expect(() => brokerEkmOptions("")).toThrow(EkmArgumentError);
  });

  it("brokerNonce is base64url without padding: 43 characters for 32 bytes", () => {
    // 0xfb 0xff… encodes to '+' and '/' in standard base64: base64url must use '-' and '_'.
    const ekm = Buffer.alloc(32, 0xff);
    ekm[0] = 0xfb;
    const nonce = brokerNonce(ekm);
    expect(nonce).toHaveLength(43);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(nonce, "base64url")).toEqual(ekm);
  });

  it("brokerNonce encodes only the view of a Uint8Array, not its whole buffer", () => {
    const backing = new Uint8Array(64).fill(7);
    backing.fill(1, 16, 48);
    expect(brokerNonce(backing.subarray(16, 48))).toBe(Buffer.alloc(32, 1).toString("base64url"));
  });

  it.each([
    ["31 bytes", Buffer.alloc(31)],
    ["33 bytes", Buffer.alloc(33)],
    ["a string", "a".repeat(32)],
  ])("brokerNonce refuses %s", (_name, value) => {
    expect(() => brokerNonce(value as Buffer)).toThrow(
      expect.objectContaining({ code: "ERR_EKM_INVALID_ARGUMENT", argument: "ekm" }),
    );
  });
});
