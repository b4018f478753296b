// Names of the `KEY=value` lines the `confspace-emulator` CLI prints, so a shell can
// `eval` them or a dotenv file can hold them. The first two are the variables the
// TEE-side packages read to find the launcher socket and the token file; the package
// exports only the other three (@confspace/attestation exports those two).

/** Path of the launcher's Unix socket (`teeserver.sock`). */
export const LAUNCHER_SOCKET_ENV = "CONFSPACE_LAUNCHER_SOCKET";
/** Path of the default token file (`attestation_verifier_claims_token`). */
export const TOKEN_FILE_ENV = "CONFSPACE_TOKEN_FILE";
/** The emulator's issuer URL, the `iss` of its tokens. */
export const ATTESTATION_ISSUER_ENV = "CONFSPACE_ATTESTATION_ISSUER";
/** The emulator's JWKS URL. */
export const ATTESTATION_JWKS_URI_ENV = "CONFSPACE_ATTESTATION_JWKS_URI";
/** SHA-256 fingerprint (lowercase hex) of the emulator's PKI root certificate. */
export const PKI_ROOT_FINGERPRINT_ENV = "CONFSPACE_PKI_ROOT_FINGERPRINT";
