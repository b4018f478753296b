#!/bin/sh
# The OpenBao container's entrypoint in Confidential Space. Every step attests: nothing
# here holds a secret before the broker (and Cloud KMS) verified this exact image.
set -eu

# 1. The workload certificate for the key service: a key pair made here (never leaves the
#    TEE), a CSR, the attestation token bound to the TLS connection to the broker. Writes
#    tls.crt, tls.key (0600), workload-ca.crt and ca.crt (the key service's server CA).
#    Fails (and the container exits) when the broker refuses this image. The broker's URL
#    and audience come from CONFSPACE_BROKER_URL / CONFSPACE_BROKER_AUDIENCE (tee-env-*).
confspace-bootstrap certificate --out-dir /run/confspace --broker-ca /etc/openbao/broker-ca.crt \
  --key-service-ca /etc/openbao/broker-ca.crt

# 2. The listener's private key, decrypted with Cloud KMS by this image's federated identity.
mkdir -p /dev/shm/openbao && chmod 0700 /dev/shm/openbao
confspace-bootstrap --config /etc/openbao/bootstrap.yaml -- \
  sh -c 'cp "$CONFSPACE_SECRETS_DIR/listener.key" /dev/shm/openbao/listener.key'

# 3. OpenBao: unseals itself through the key service with the certificate from step 1.
exec bao server -config=/etc/openbao/openbao.hcl
