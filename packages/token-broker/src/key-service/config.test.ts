import { describe, expect, it } from "vitest";
import { BrokerConfigError } from "../errors.js";
import { readKeyServiceConfig } from "./config.js";

const GRANT_KEYS = new Set(["openbao-unseal", "state"]);
const good = () => ({
  listen: { host: "127.0.0.1", port: 0 },
  tls: { certFile: "/etc/broker/ks.pem", keyFile: "/etc/broker/ks.key" },
  mountPath: "transit",
  roots: [
    { version: 1, file: "/etc/broker/root-1" },
    { version: 2, env: "KEY_ROOT_2" },
    {
      version: 3,
      kmsWrapped: { key: "projects/p/locations/global/keyRings/r/cryptoKeys/k", ciphertextFile: "/r3.b64" },
    },
  ],
  keys: { "openbao-unseal": { minDecryptionVersion: 2 } },
  maxBodyBytes: 4096,
});

describe("readKeyServiceConfig", () => {
  it("returns a clean copy of a valid section", () => {
    expect(readKeyServiceConfig(good(), "keyService", GRANT_KEYS)).toEqual(good());
  });

  it("accepts the smallest section: one root", () => {
    expect(readKeyServiceConfig({ roots: [{ version: 1, env: "R" }] }, "keyService", GRANT_KEYS)).toEqual({
      roots: [{ version: 1, env: "R" }],
    });
  });

  type Mutation = (c: ReturnType<typeof good>) => unknown;
  const set =
    // biome-ignore lint/suspicious/noExplicitAny: each row mutates an arbitrary path of a plain document.
      (mutate: (c: any) => void): Mutation =>
      (c) => {
        mutate(c);
        return c;
      };
  it.each<[string, Mutation, string]>([
    ["not an object", () => [], "keyService: must be an object"],
    ["an unknown field", set((c) => (c.port = 1)), "keyService.port: unknown field"],
    ["an inline secret", set((c) => (c.secret = "x")), "keyService.secret: unknown field (secrets are never inline"],
    ["no roots", set((c) => delete c.roots), "keyService.roots: is required"],
    ["empty roots", set((c) => (c.roots = [])), "keyService.roots: must not be empty"],
    [
      "a root without a source",
      set((c) => (c.roots[0] = { version: 1 })),
      "keyService.roots[0]: needs exactly one of file, env and kmsWrapped",
    ],
    [
      "a root with two sources",
      set((c) => (c.roots[0] = { version: 1, file: "/a", env: "B" })),
      "keyService.roots[0]: needs exactly one of",
    ],
    [
      "an inline root value",
      set((c) => (c.roots[0] = { version: 1, value: "abc" })),
      "keyService.roots[0].value: unknown field (secrets are never inline",
    ],
    ["version 0", set((c) => (c.roots[0].version = 0)), "keyService.roots[0].version: must be between 1 and 1000000"],
    ["a fractional version", set((c) => (c.roots[0].version = 1.5)), "keyService.roots[0].version: must be an integer"],
    [
      "a version as a string",
      set((c) => (c.roots[0].version = "1")),
      "keyService.roots[0].version: must be an integer",
    ],
    ["a repeated version", set((c) => (c.roots[1].version = 1)), "keyService.roots[1]: version 1 is listed twice"],
    [
      "an env name with a dash",
      set((c) => (c.roots[1].env = "A-B")),
      "keyService.roots[1].env: must be an environment variable name",
    ],
    ["an empty file", set((c) => (c.roots[0].file = "")), "keyService.roots[0].file: must be a non-empty string"],
    [
      "a KMS key that is not a CryptoKey name",
      set((c) => (c.roots[2].kmsWrapped.key = "projects/p/keyRings/r")),
      "keyService.roots[2].kmsWrapped.key: must be projects/P/locations/L/keyRings/R/cryptoKeys/K",
    ],
    [
      "KMS with both ciphertexts",
      set((c) => (c.roots[2].kmsWrapped.ciphertext = "YWJj")),
      "keyService.roots[2].kmsWrapped: needs exactly one of ciphertext (base64) and ciphertextFile",
    ],
    [
      "KMS with no ciphertext",
      set((c) => delete c.roots[2].kmsWrapped.ciphertextFile),
      "keyService.roots[2].kmsWrapped: needs exactly one of",
    ],
    [
      "KMS ciphertext not base64",
      set((c) => {
        delete c.roots[2].kmsWrapped.ciphertextFile;
        c.roots[2].kmsWrapped.ciphertext = "not base64!";
      }),
      "keyService.roots[2].kmsWrapped.ciphertext: must be base64",
    ],
    [
      "a KMS endpoint with a path",
      set((c) => (c.roots[2].kmsWrapped.endpoint = "https://kms.example/v1")),
      "keyService.roots[2].kmsWrapped.endpoint: must be an http(s) URL with no path",
    ],
    [
      "an inline access token",
      set((c) => (c.roots[2].kmsWrapped.accessToken = "ya29.x")),
      "keyService.roots[2].kmsWrapped.accessToken: unknown field (tokens are never inline",
    ],
    [
      "a port out of range",
      set((c) => (c.listen.port = 70_000)),
      "keyService.listen.port: must be between 0 and 65535",
    ],
    ["an unknown listen field", set((c) => (c.listen.backlog = 5)), "keyService.listen.backlog: unknown field"],
    ["tls without keyFile", set((c) => delete c.tls.keyFile), "keyService.tls.keyFile: must be a non-empty string"],
    [
      "a client CA of its own",
      set((c) => (c.tls.clientCaFile = "/ca.pem")),
      "keyService.tls.clientCaFile: unknown field (clients are workload certificates of certificates.caCertFile",
    ],
    [
      "a mount with a leading slash",
      set((c) => (c.mountPath = "/transit")),
      "keyService.mountPath: must be path segments",
    ],
    ["a mount with ..", set((c) => (c.mountPath = "a/../b")), "keyService.mountPath: must be path segments"],
    [
      "the auth/ mount",
      set((c) => (c.mountPath = "auth/token")),
      "keyService.mountPath: must not start with auth/ or sys/",
    ],
    ["a key no grant lists", set((c) => (c.keys.other = {})), "keyService.keys.other: is listed by no grant"],
    ["a key name with a slash", set((c) => (c.keys["a/b"] = {})), 'keyService.keys["a/b"]: must be 1–64 letters'],
    [
      "minDecryptionVersion above the newest root",
      set((c) => (c.keys["openbao-unseal"].minDecryptionVersion = 4)),
      "keyService.keys.openbao-unseal.minDecryptionVersion: must be at most 3, the newest root version",
    ],
    [
      "an unknown key field",
      set((c) => (c.keys.state = { rotate: true })),
      "keyService.keys.state.rotate: unknown field",
    ],
    [
      "a tiny body cap",
      set((c) => (c.maxBodyBytes = 10)),
      "keyService.maxBodyBytes: must be between 1024 and 16777216",
    ],
  ])("refuses %s, naming the option path", (_, mutate, message) => {
    let caught: unknown;
    try {
      readKeyServiceConfig(mutate(good()), "keyService", GRANT_KEYS);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BrokerConfigError);
    expect((caught as Error).message).toContain(message);
  });
});
