// The server's HCL configuration: one TCP listener on loopback (port 0 at first, the
// found port on restarts), in-memory or Raft storage, TLS from the test PKI, an optional seal.
export interface ConfigInput {
  port: number;
  /** Raft data dir: storage survives a restart. Absent: in-memory storage. */
  raftPath?: string;
  tls?: { certPath: string; keyPath: string; caPath: string; requireClientCert: boolean };
  /** A rendered `seal "…" { … }` stanza (auto-unseal). Absent: Shamir, one key share. */
  seal?: string[];
  /** HashiCorp Vault needs `disable_mlock` without the IPC_LOCK capability; OpenBao has no mlock and warns on it. */
  vault: boolean;
}

const quote = (text: string) => JSON.stringify(text);

export function renderConfig(input: ConfigInput): string {
  const address = `127.0.0.1:${input.port}`;
  const scheme = input.tls === undefined ? "http" : "https";
  const listener =
    input.tls === undefined
      ? ["  tls_disable = true"]
      : [
          `  tls_cert_file = ${quote(input.tls.certPath)}`,
          `  tls_key_file = ${quote(input.tls.keyPath)}`,
          `  tls_client_ca_file = ${quote(input.tls.caPath)}`,
          `  tls_require_and_verify_client_cert = ${input.tls.requireClientCert}`,
        ];
  const storage =
    input.raftPath === undefined
      ? ['storage "inmem" {}']
      : [
          'storage "raft" {',
          `  path = ${quote(input.raftPath)}`,
          '  node_id = "confspace-test"',
          // Elections in about a second instead of five: one node, loopback.
          "  performance_multiplier = 1",
          "}",
        ];
  return [
    ...storage,
    'listener "tcp" {',
    `  address = ${quote(address)}`,
    '  cluster_address = "127.0.0.1:0"',
    ...listener,
    "}",
    `api_addr = ${quote(`${scheme}://${address}`)}`,
    'cluster_addr = "https://127.0.0.1:1"',
    'log_level = "warn"',
    ...(input.vault ? ["disable_mlock = true"] : []),
    ...(input.seal ?? []),
    "",
  ].join("\n");
}
