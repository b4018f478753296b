import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFromEnv } from "./main.js";

const ENV = {
  CONFSPACE_BROKER_URL: "https://broker.example.com:8443",
  CONFSPACE_BROKER_AUDIENCE: "https://broker.example.com",
  AZURE_STORAGE_ACCOUNT_URL: "https://account.blob.core.windows.net",
};

describe("configFromEnv", () => {
  it("reads the broker and storage settings, with a default container", () => {
    expect(configFromEnv(ENV)).toEqual({
      brokerUrl: ENV.CONFSPACE_BROKER_URL,
      audience: ENV.CONFSPACE_BROKER_AUDIENCE,
      accountUrl: ENV.AZURE_STORAGE_ACCOUNT_URL,
      container: "confspace-demo",
    });
    expect(configFromEnv({ ...ENV, AZURE_STORAGE_CONTAINER: "reports" }).container).toBe("reports");
  });

  it("reads the broker CA from BROKER_CA_FILE", () => {
    const dir = mkdtempSync(join(tmpdir(), "azure-blob-example-"));
    try {
      writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\n");
      expect(configFromEnv({ ...ENV, BROKER_CA_FILE: join(dir, "ca.pem") }).brokerCa).toBe(
        "-----BEGIN CERTIFICATE-----\n",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(Object.keys(ENV))("names %s when it is missing", (name) => {
    expect(() => configFromEnv({ ...ENV, [name]: " " })).toThrow(name);
  });
});
