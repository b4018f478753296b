export { AWS_TAGS_CLAIM, DEFAULT_TOKEN_AUDIENCE, principalTags } from "./claims.js";
export { startEmulator } from "./emulator.js";
export type { Emulator, EmulatorOptions, FailureResponse, RotateKeysOptions } from "./emulator-types.js";
// CONFSPACE_LAUNCHER_SOCKET and CONFSPACE_TOKEN_FILE are @confspace/attestation's
// (LAUNCHER_SOCKET_ENV, TOKEN_FILE_ENV): one export per variable.
export { ATTESTATION_ISSUER_ENV, ATTESTATION_JWKS_URI_ENV, PKI_ROOT_FINGERPRINT_ENV } from "./env.js";
export type { EmulatorErrorCode } from "./errors.js";
export { EmulatorError, EmulatorOptionError } from "./errors.js";
export type { ImageSigner } from "./image-signers.js";
export { LAUNCHER_LIMITS } from "./launcher-server.js";
export type { PkiCertificate, PkiCertificateOptions, PkiChain, PkiChainOptions } from "./pki-chain.js";
export { generatePkiChain } from "./pki-chain.js";
export type { DeepPartial, EmulatorClaims, EmulatorImageSignature, EmulatorProfile, TokenType } from "./profile.js";
export { DEBUG_PROFILE, DEFAULT_PROFILE, loadProfile, resolveProfile } from "./profile.js";
export type { ClaimsOptions, MintTokenOptions } from "./token-minter.js";
