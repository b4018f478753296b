export type {
  AwsPrincipalTagsClaim,
  ConfidentialSpaceClaims,
  ConfidentialSpaceSubmods,
  ContainerClaims,
  GceClaims,
  ImageSignature,
  TokenType,
} from "./claims.js";
export { CONFIDENTIAL_SPACE_ISSUER, DEFAULT_TOKEN_AUDIENCE, TOKEN_TYPES } from "./claims.js";
export type { CustomTokenSource, CustomTokenSourceOptions } from "./custom-token-source.js";
export { customTokenSource } from "./custom-token-source.js";
export { decodeClaims } from "./decode-claims.js";
export type { DefaultTokenSource, DefaultTokenSourceOptions } from "./default-token-source.js";
export { DEFAULT_TOKEN_FILE, defaultTokenSource, TOKEN_FILE_ENV } from "./default-token-source.js";
export type { LauncherErrorOptions } from "./errors.js";
export {
  InvalidTokenRequestError,
  LauncherError,
  LauncherUnavailableError,
  TokenExpiredError,
  TokenFileError,
  TokenMalformedError,
} from "./errors.js";
export type {
  LauncherCallOptions,
  LauncherClientOptions,
  LauncherRetryOptions,
  RequestTokenOptions,
} from "./launcher-client.js";
export { DEFAULT_LAUNCHER_SOCKET, LAUNCHER_SOCKET_ENV, LauncherClient } from "./launcher-client.js";
export type { TokenRequest, ValidTokenRequest } from "./token-request.js";
export { TOKEN_REQUEST_LIMITS, validateTokenRequest } from "./token-request.js";
export type { AttestationTokenSource, GetAttestationTokenOptions } from "./token-source.js";
