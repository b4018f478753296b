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
