# OpenBao's configuration inside the Confidential Space container (baked into the image,
# so the image digest the broker's grant names covers it too).

# The seal: OpenBao's root key is encrypted by the broker's key service, with a key only
# this image's attested certificate may use. No token: the key service authenticates the
# client certificate; without a token OpenBao makes no token renewal calls.
seal "transit" {
  address         = "https://broker.example.com:8444"
  mount_path      = "transit/"
  key_name        = "openbao-unseal"
  disable_renewal = "true"
  # Written by `confspace-bootstrap certificate --out-dir /run/confspace` before `bao server`
  # starts. OpenBao reads them once, when it starts.
  tls_client_cert = "/run/confspace/tls.crt"
  tls_client_key  = "/run/confspace/tls.key"
  # The CA of the key service's server certificate: the image's broker-ca.crt, copied there
  # by the bootstrap (--key-service-ca).
  tls_ca_cert     = "/run/confspace/ca.crt"
}

# Storage outside the TEE: everything OpenBao writes is encrypted by its barrier, whose
# keyring's root key only the seal above can decrypt. Cloud SQL for PostgreSQL, private IP.
storage "postgresql" {
  connection_url = "postgres://openbao@10.20.0.5:5432/openbao?sslmode=verify-full&sslrootcert=/etc/openbao/cloudsql-ca.crt"
  ha_enabled     = "true"
}

# The API listener needs a SERVER certificate (the workload certificate is clientAuth only):
# its certificate is public and baked into the image; its private key reaches the
# container as a secret only this image can decrypt (entrypoint.sh: a `gcp-kms` reference
# of confspace-bootstrap, written to tmpfs).
listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/openbao/listener.crt"
  tls_key_file  = "/dev/shm/openbao/listener.key"
}

api_addr     = "https://openbao.internal.example.com:8200"
cluster_addr = "https://openbao.internal.example.com:8201"
ui           = false
log_level    = "info"
