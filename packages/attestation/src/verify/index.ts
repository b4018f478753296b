export type {
  AttestationPolicyErrorOptions,
  AttestationVerifierUnavailableErrorOptions,
  PolicyCheck,
} from "./errors.js";
export {
  AttestationPolicyError,
  AttestationVerifierOptionError,
  AttestationVerifierUnavailableError,
} from "./errors.js";
export type {
  AttestationVerifier,
  AttestationVerifierOptions,
  VerificationPolicy,
  VerifierTokenType,
  VerifyOptions,
} from "./options.js";
export { createAttestationVerifier } from "./verifier.js";
