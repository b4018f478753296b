import { describe, expect, it } from "vitest";
import { EkmArgumentError } from "../errors.js";
import { toEkmParams } from "./ekm-params.js";

const good = { label: "EXPORTER-confspace-test", context: "aud", length: 32 };

describe("toEkmParams", () => {
  it("accepts a good label, string context and length, encoding the context as UTF-8", () => {
    const params = toEkmParams({ ...good, context: "ü" });
    expect(params).toEqual({ label: good.label, context: Buffer.from("ü", "utf8"), length: 32 });
  });

  it("defaults length to 32 bytes and leaves a missing context undefined", () => {
    expect(toEkmParams({ label: good.label })).toEqual({ label: good.label, context: undefined, length: 32 });
  });

  it("copies a Uint8Array context so later mutation cannot change it", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const params = toEkmParams({ ...good, context: bytes });
    bytes[0] = 9;
    expect(params.context).toEqual(Buffer.from([1, 2, 3]));
  });

  it("accepts the bounds: length 1 and 255, label of 249 characters, context of 65,535 bytes", () => {
    expect(toEkmParams({ ...good, length: 1 }).length).toBe(1);
    expect(toEkmParams({ ...good, length: 255 }).length).toBe(255);
    expect(toEkmParams({ ...good, label: "E".repeat(249) }).label).toHaveLength(249);
    expect(toEkmParams({ ...good, context: Buffer.alloc(65_535) }).context).toHaveLength(65_535);
  });

  // One mutation of the good input per row.
  const rejected: [string, Record<string, unknown>, string][] = [
    ["empty label", { label: "" }, "label"],
    ["non-string label", { label: 42 }, "label"],
    ["label with a control character", { label: "EXPORTER\n-x" }, "label"],
    ["label with non-ASCII", { label: "EXPORTER-é" }, "label"],
    ["label of 250 characters", { label: "E".repeat(250) }, "label"],
    ["label 'client finished'", { label: "client finished" }, "label"],
    ["label starting with 'server finished'", { label: "server finished-x" }, "label"],
    ["label starting with 'master secret'", { label: "master secret" }, "label"],
    ["label starting with 'key expansion'", { label: "key expansion 2" }, "label"],
    ["length 0", { length: 0 }, "length"],
    ["length 256", { length: 256 }, "length"],
    ["negative length", { length: -1 }, "length"],
    ["fractional length", { length: 31.5 }, "length"],
    ["NaN length", { length: Number.NaN }, "length"],
    ["string length", { length: "32" }, "length"],
    ["context of 65,536 bytes", { context: Buffer.alloc(65_536) }, "context"],
    ["numeric context", { context: 7 }, "context"],
    ["array context", { context: [1, 2] }, "context"],
  ];
  it.each(rejected)("rejects %s with ERR_EKM_INVALID_ARGUMENT naming the argument", (_name, mutation, argument) => {
    const input = { ...good, ...mutation } as Parameters<typeof toEkmParams>[0];
    const error = (() => {
      try {
        toEkmParams(input);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(EkmArgumentError);
    expect(error).toMatchObject({ code: "ERR_EKM_INVALID_ARGUMENT", argument });
  });
});
