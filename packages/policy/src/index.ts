export type { ClaimLookup } from "./claim-path.js";
export { CLAIM_PATH, claimAt, lookupClaim } from "./claim-path.js";
export type { ClauseProblem, ClauseResult, PolicyClause, PolicyEvaluation } from "./evaluate-policy.js";
export { evaluatePolicy, findPolicyFailure } from "./evaluate-policy.js";
export type { ImageSignatureAlgorithm } from "./key-id.js";
export { imageSignatureAlgorithm, keyIdFromPublicKey } from "./key-id.js";
export type {
  AwsRendering,
  AwsRenderOptions,
  AwsTrustPolicy,
  BrokerRendering,
  BrokerRenderOptions,
  GcpRendering,
  GcpRenderOptions,
  RenderClause,
  RenderCommonOptions,
  UnenforcedClause,
  VaultAuthConfig,
  VaultRendering,
  VaultRenderOptions,
  VaultRole,
} from "./render/index.js";
export {
  GOOGLE_ISSUER,
  PolicyNotExpressibleError,
  renderAws,
  renderBroker,
  renderGcp,
  renderVault,
} from "./render/index.js";
export type { ValidatePolicyOptions } from "./validate-policy.js";
export { isValidatedPolicy, pinsWorkload, validatePolicy } from "./validate-policy.js";
export type {
  HardwareModel,
  ImageSignaturePolicy,
  ResolvedWorkloadPolicy,
  RestartPolicy,
  SupportAttribute,
  WorkloadPolicy,
} from "./workload-policy.js";
export {
  CONFIDENTIAL_SPACE_SWNAME,
  DEBUG_DISABLED,
  DEFAULT_HARDWARE_MODELS,
  DEFAULT_SUPPORT_ATTRIBUTES,
  RESTART_POLICIES,
  SUPPORT_ATTRIBUTES,
  WORKLOAD_POLICY_KEYS,
} from "./workload-policy.js";
