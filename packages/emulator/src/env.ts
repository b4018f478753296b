// Names of the `KEY=value` lines the `confspace-emulator` CLI prints, so a shell can
// `eval` them or a dotenv file can hold them. The first two are the variables the
// TEE-side packages read to find the launcher socket and the token file.

/** Path of the launcher's Unix socket (`teeserver.sock`). */
export const ENV_LAUNCHER_SOCKET = "CONFSPACE_LAUNCHER_SOCKET";
/** Path of the default token file (`attestation_verifier_claims_token`). */
export const ENV_TOKEN_FILE = "CONFSPACE_TOKEN_FILE";
/** The emulator's issuer URL, the `iss` of its tokens. */
export const ENV_ATTESTATION_ISSUER = "CONFSPACE_ATTESTATION_ISSUER";
/** The emulator's JWKS URL. */
export const ENV_ATTESTATION_JWKS_URI = "CONFSPACE_ATTESTATION_JWKS_URI";
/** SHA-256 fingerprint (lowercase hex) of the emulator's PKI root certificate. */
export const ENV_PKI_ROOT_FINGERPRINT = "CONFSPACE_PKI_ROOT_FINGERPRINT";
