import { describe, expect, it } from "vitest";
import { renderConfig } from "./config.js";
import { renderTransitSeal } from "./transit-seal.js";

describe("renderTransitSeal", () => {
  it("renders the stanza with the defaults OpenBao needs for a certificate-only key service: transit/ mount, no token, renewal off", () => {
    expect(renderTransitSeal({ address: "https://127.0.0.1:8444", keyName: "openbao-unseal" })).toEqual([
      'seal "transit" {',
      '  address = "https://127.0.0.1:8444"',
      '  key_name = "openbao-unseal"',
      '  mount_path = "transit/"',
      '  disable_renewal = "true"',
      "}",
    ]);
  });

  it("quotes every value as an HCL string, so a path with quotes or backslashes cannot end the stanza", () => {
    const lines = renderTransitSeal({
      address: "https://kms:1",
      keyName: "k",
      mountPath: "keys/team-a/",
      tlsCaCert: '/tmp/a "b"\\c.pem',
      tlsClientCert: "/run/confspace/tls.crt",
      tlsClientKey: "/run/confspace/tls.key",
      tlsServerName: "kms.internal",
      token: "t",
      disableRenewal: false,
    });
    expect(lines).toContain('  tls_ca_cert = "/tmp/a \\"b\\"\\\\c.pem"');
    expect(lines).toContain('  mount_path = "keys/team-a/"');
    expect(lines).toContain('  disable_renewal = "false"');
    expect(lines).toContain('  token = "t"');
    expect(lines.filter((line) => line === "}")).toHaveLength(1);
  });

  it("ends up in the server configuration after the listener", () => {
    const config = renderConfig({
      port: 0,
      vault: false,
      seal: renderTransitSeal({ address: "http://a:1", keyName: "k" }),
    });
    expect(config.indexOf('seal "transit" {')).toBeGreaterThan(config.indexOf('listener "tcp" {'));
    expect(renderConfig({ port: 0, vault: false })).not.toContain("seal");
  });
});
