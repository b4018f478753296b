export { AWS_TAGS_CLAIM, DEFAULT_TOKEN_AUDIENCE } from "./claims.js";
export { startEmulator } from "./emulator.js";
export type { Emulator, EmulatorOptions, FailureResponse, RotateKeysOptions } from "./emulator-types.js";
export {
  ENV_ATTESTATION_ISSUER,
  ENV_ATTESTATION_JWKS_URI,
  ENV_LAUNCHER_SOCKET,
  ENV_PKI_ROOT_FINGERPRINT,
  ENV_TOKEN_FILE,
} from "./env.js";
export type { EmulatorErrorCode } from "./errors.js";
export { EmulatorError, EmulatorOptionError } from "./errors.js";
export { LAUNCHER_LIMITS } from "./launcher-server.js";
export type { PkiCertificate, PkiCertificateOptions, PkiChain, PkiChainOptions } from "./pki-chain.js";
export { generatePkiChain } from "./pki-chain.js";
export type { DeepPartial, EmulatorClaims, EmulatorImageSignature, EmulatorProfile, TokenType } from "./profile.js";
export { DEBUG_PROFILE, DEFAULT_PROFILE, loadProfile, resolveProfile } from "./profile.js";
export type { ClaimsOptions, MintTokenOptions } from "./token-minter.js";
