import { BROKER_REQUEST_FIELDS } from "@confspace/ekm-tls";
import { describe, expect, it, vi } from "vitest";
import type { BrokerConfig } from "../config-types.js";
import { BrokerConfigError } from "../errors.js";
import { InvalidBrokerRequestError, requestParser } from "../internal/token-request.js";
import { readBrokerConfig } from "../validate-config.js";
import type { AnyProvider, BrokerService, ConfigSection } from "./provider.js";
import { PROVIDERS, SERVICES } from "./registry.js";

const DIGEST = `sha256:${"a1".repeat(32)}`;
const base = () => ({
  tls: { certFile: "/tls/cert.pem", keyFile: "/tls/key.pem" },
  attestation: { audience: "https://broker.example", policy: { imageDigests: [DIGEST] } },
});

/** A provider that exercises every hook the registry offers, with a top-level section. */
function stubProvider(): AnyProvider & { section: ConfigSection } {
  return {
    name: "certificate",
    readRequest: (fields: { csr?: unknown }) => ({ csr: fields.csr }),
    section: { key: "stubSection" as keyof BrokerConfig, read: vi.fn((value: unknown) => value as never) },
    grant: {
      key: "stubGrant" as never,
      read: vi.fn((value: unknown, _path: string, config: Partial<BrokerConfig>) => ({
        value,
        sawSection: (config as Record<string, unknown>).stubSection !== undefined,
      })) as never,
      compile: (section: unknown) => section,
      select: (compiled: unknown) => compiled,
      deniedWhat: "a stub",
    },
    check: vi.fn(),
    start: () => undefined,
  };
}

describe("the provider registry", () => {
  it("lists providers of the protocol once each, with distinct grant and upstream keys", () => {
    const names = PROVIDERS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(Object.keys(BROKER_REQUEST_FIELDS)).toContain(name);
    const grantKeys = PROVIDERS.map((p) => p.grant.key);
    expect(new Set(grantKeys).size).toBe(grantKeys.length);
    const upstreamKeys = PROVIDERS.flatMap((p) => (p.upstream === undefined ? [] : [p.upstream.key]));
    expect(new Set(upstreamKeys).size).toBe(upstreamKeys.length);
    const sections = [
      ...PROVIDERS.flatMap((p) => (p.section ? [p.section.key] : [])),
      ...SERVICES.map((s) => s.section.key),
    ];
    expect(new Set(sections).size).toBe(sections.length);
  });

  it("reads a provider's top-level and grant sections, in that order, and runs its whole-config check", () => {
    const stub = stubProvider();
    const config = readBrokerConfig(
      { ...base(), stubSection: { a: 1 }, grants: [{ name: "g", match: { imageDigests: [DIGEST] }, stubGrant: 7 }] },
      [stub],
      [],
    ) as BrokerConfig & Record<string, unknown>;
    expect(stub.section.read).toHaveBeenCalledWith({ a: 1 }, "stubSection");
    expect(config.stubSection).toEqual({ a: 1 });
    expect(config.grants[0]).toMatchObject({ name: "g", stubGrant: { value: 7, sawSection: true } });
    expect(stub.check).toHaveBeenCalledWith(config);
  });

  it("refuses a top-level key no registered provider or service reads, and a grant giving nothing", () => {
    const grants = [{ name: "g", match: { imageDigests: [DIGEST] }, stubGrant: 7 }];
    expect(() => readBrokerConfig({ ...base(), keyService: {}, grants }, [stubProvider()], [])).toThrow(
      expect.objectContaining({ field: "keyService" }),
    );
    const bare = [{ name: "g", match: { imageDigests: [DIGEST] } }];
    expect(() => readBrokerConfig({ ...base(), grants: bare }, [stubProvider()], [])).toThrow(BrokerConfigError);
    expect(() => readBrokerConfig({ ...base(), grants: bare }, [stubProvider()], [])).toThrow(/must give/);
  });

  it("reads a service's section and runs its check", () => {
    const service: BrokerService = {
      name: "stub",
      section: { key: "keyService" as keyof BrokerConfig, read: vi.fn((value: unknown) => value as never) },
      check: vi.fn(),
      start: () => undefined,
    };
    const grants = [{ name: "g", match: { imageDigests: [DIGEST] }, stubGrant: 7 }];
    const config = readBrokerConfig({ ...base(), keyService: { port: 0 }, grants }, [stubProvider()], [service]);
    expect(service.section.read).toHaveBeenCalledWith({ port: 0 }, "keyService");
    expect(service.check).toHaveBeenCalledWith(config);
  });
});

describe("requestParser", () => {
  const parse = requestParser(PROVIDERS);
  const token = "eyJ.x.y";

  it("hands a known provider's fields to its reader", () => {
    const parsed = parse(JSON.stringify({ attestation_token: token, provider: "azure", scope: "api://x/.default" }));
    expect(parsed.provider.name).toBe("azure");
    expect(parsed).toMatchObject({ attestationToken: token, request: { scope: "api://x/.default" } });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      "an unknown provider, listing the registered ones",
      { provider: "gcp" },
      new RegExp(`"provider" must be ${PROVIDERS.map((p) => `"${p.name}"`).join(".*")}$`),
    ],
    ["a provider that is not a string", { provider: ["azure"] }, /"provider" must be/],
    ["another provider's field", { provider: "azure", scope: "a/.default", role_arn: "x" }, /unknown field "role_arn"/],
    [
      "a missing attestation token",
      { provider: "azure", scope: "a/.default", attestation_token: undefined },
      /attestation_token/,
    ],
  ])("refuses %s", (_name, body, message) => {
    const json = JSON.stringify({ attestation_token: token, ...body });
    expect(() => parse(json)).toThrow(InvalidBrokerRequestError);
    expect(() => parse(json)).toThrow(message);
  });
});
