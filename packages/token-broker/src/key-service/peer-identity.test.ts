import { describe, expect, it } from "vitest";
import { sanUris } from "./peer-identity.js";

describe("sanUris", () => {
  it("reads the URI entries of Node's subjectAltName text", () => {
    expect(sanUris("URI:urn:confspace:grant:a, URI:urn:confspace:workload:p/z/i, DNS:bao.internal")).toEqual([
      "urn:confspace:grant:a",
      "urn:confspace:workload:p/z/i",
    ]);
  });

  it("reads a JSON-quoted entry as one value, so a comma inside cannot forge a second grant", () => {
    // Node quotes a value holding ',' (CVE-2021-44532); one SAN, not two.
    expect(sanUris('URI:"urn:confspace:grant:a, URI:urn:confspace:grant:b", DNS:x')).toEqual([
      "urn:confspace:grant:a, URI:urn:confspace:grant:b",
    ]);
  });

  it.each([[undefined], [""], ["DNS:a, IP Address:127.0.0.1"]])("finds no URI in %j", (text) => {
    expect(sanUris(text)).toEqual([]);
  });
});
