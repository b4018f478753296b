/**
 * Which Confidential Space workloads a relying party admits: one policy, read the same way
 * by the verifier (`@confspace/attestation/verify`), the broker's grants and every renderer
 * (GCP workload identity, Vault/OpenBao JWT roles, AWS trust policies). Field names are
 * camelCase in code, YAML and JSON alike.
 *
 * Lists are exact string matches and are never empty (omit a field to skip its check). An
 * unknown key (`imageDigest` for `imageDigests`) is refused by {@link validatePolicy}: a
 * typo must never switch a pin off.
 *
 * **A policy must pin the workload**: set `imageDigests`, `imageSignatures`, or
 * (`projectIds` or `projectNumbers`) together with `serviceAccounts`. Anyone can run a
 * Confidential Space VM and obtain a Google-signed token for any audience, so issuer and
 * audience alone admit every workload on the planet. `allowAnyWorkload: true` is the
 * explicit opt-out. The other fields default to the secure choice.
 *
 * Always enforced, not configurable: `swname` is `CONFIDENTIAL_SPACE`, `secboot` is
 * `true`, `hwmodel` is never `GCP_SHIELDED_VM` (not a confidential-memory TEE).
 */
export interface WorkloadPolicy {
  /**
   * Allowed `submods.container.image_digest` values, each `sha256:` followed by 64
   * lowercase hex digits, exact match. Default: not checked.
   */
  imageDigests?: readonly string[];
  /**
   * Image signatures the attestation service verified (`submods.container.image_signatures`,
   * from the cosign signatures in the VM's `tee-signed-image-repos`): at least `threshold`
   * of the listed `keyIds` must each have signed the image. Pins every image these keys
   * sign, so a new release needs no policy change. Default: not checked.
   */
  imageSignatures?: ImageSignaturePolicy;
  /** Allowed `submods.gce.project_id` values. Default: not checked. */
  projectIds?: readonly string[];
  /** Allowed `submods.gce.project_number` values (decimal strings, as the token carries them). Default: not checked. */
  projectNumbers?: readonly string[];
  /**
   * Service accounts allowed to run the workload: at least one entry of the token's
   * `google_service_accounts` must be listed. Default: not checked.
   */
  serviceAccounts?: readonly string[];
  /**
   * Allowed `hwmodel` values. Default {@link DEFAULT_HARDWARE_MODELS}
   * (`GCP_AMD_SEV`, `GCP_AMD_SEV_ES`, `GCP_INTEL_TDX`). `GCP_SHIELDED_VM` is refused.
   */
  hardwareModels?: readonly HardwareModel[];
  /**
   * Attributes that must all be in `submods.confidential_space.support_attributes`.
   * Default `["STABLE"]`. `[]` admits images without support attributes (debug images
   * have none); the claim must still be an array when present.
   */
  supportAttributes?: readonly SupportAttribute[];
  /**
   * Lowest accepted Confidential Space image version, compared numerically with the single
   * element of `swversion` (e.g. `240500`). Default: not checked (the claim must still be
   * an array of one decimal string).
   */
  minSwVersion?: number;
  /**
   * Admit debug images (`dbgstat` other than `disabled-since-boot`). Default `false`.
   * Debug images have no support attributes: also set `supportAttributes: []`. An operator
   * can read the memory of a debug workload: never for production.
   */
  allowDebug?: boolean;
  /** Allowed `submods.container.restart_policy` values. Default: not checked. */
  restartPolicies?: readonly RestartPolicy[];
  /**
   * The audience the token must be issued for (`aud`, a string or a one-element array).
   * What renderers put into a workload identity provider's allowed audiences, a Vault
   * role's `bound_audiences` or a trust policy's `aud` condition. The verifier and the
   * broker have their own required `audience` option (the broker's also binds the TLS
   * exporter); when the policy names one too, the two must be equal, which they check at
   * construction. Default: not checked by the policy.
   */
  audience?: string;
  /**
   * DANGER: accept a policy that pins no workload (no `imageDigests`, `imageSignatures`,
   * or projects with `serviceAccounts`): every Confidential Space workload of anyone,
   * anywhere, that asks for your audience passes. Only for tests and for relying parties
   * that decide on the returned claims themselves. Refused together with a pin (the two
   * contradict each other). Default `false`.
   */
  allowAnyWorkload?: boolean;
}

/** M of N image-signature keys. */
export interface ImageSignaturePolicy {
  /**
   * Key IDs as the attestation service reports them in `image_signatures[].key_id`: the
   * lowercase hex SHA-256 of the signer's public key in DER SubjectPublicKeyInfo form
   * (see {@link keyIdFromPublicKey}). Distinct, non-empty.
   */
  keyIds: readonly string[];
  /**
   * How many distinct listed keys must have signed the image, `1` to `keyIds.length`.
   * Required: `2` of `[builder, alice, bob]` is a different policy than `1` of them.
   */
  threshold: number;
}

/** Confidential-memory hardware a Confidential Space token can report in `hwmodel`. */
export type HardwareModel = "GCP_AMD_SEV" | "GCP_AMD_SEV_ES" | "GCP_INTEL_TDX";
/** `submods.confidential_space.support_attributes` entries. */
export type SupportAttribute = "EXPERIMENTAL" | "USABLE" | "STABLE" | "LATEST";
/** `submods.container.restart_policy` values. */
export type RestartPolicy = "Always" | "OnFailure" | "Never";

/** Every key of {@link WorkloadPolicy}; any other is refused. */
export const WORKLOAD_POLICY_KEYS = Object.freeze([
  "imageDigests",
  "imageSignatures",
  "projectIds",
  "projectNumbers",
  "serviceAccounts",
  "hardwareModels",
  "supportAttributes",
  "minSwVersion",
  "allowDebug",
  "restartPolicies",
  "audience",
  "allowAnyWorkload",
] as const) satisfies readonly (keyof WorkloadPolicy)[];

/** Hardware that runs a confidential-memory TEE: the default of `hardwareModels`. */
export const DEFAULT_HARDWARE_MODELS: readonly HardwareModel[] = Object.freeze([
  "GCP_AMD_SEV",
  "GCP_AMD_SEV_ES",
  "GCP_INTEL_TDX",
]);
/** The default of `supportAttributes`. */
export const DEFAULT_SUPPORT_ATTRIBUTES: readonly SupportAttribute[] = Object.freeze(["STABLE"]);
/** Every value `supportAttributes` may list. */
export const SUPPORT_ATTRIBUTES: readonly SupportAttribute[] = Object.freeze([
  "EXPERIMENTAL",
  "USABLE",
  "STABLE",
  "LATEST",
]);
/** Every value `restartPolicies` may list. */
export const RESTART_POLICIES: readonly RestartPolicy[] = Object.freeze(["Always", "OnFailure", "Never"]);
/** The only production value of `dbgstat`. */
export const DEBUG_DISABLED = "disabled-since-boot";
/** `swname` of the Confidential Space image, always required. */
export const CONFIDENTIAL_SPACE_SWNAME = "CONFIDENTIAL_SPACE";

/**
 * A validated {@link WorkloadPolicy}: what {@link validatePolicy} returns. Defaults are
 * applied (`hardwareModels`, `supportAttributes`, `allowDebug`, `allowAnyWorkload` are
 * always present), the object and its lists are frozen copies. The evaluator and the
 * renderers validate whatever they are given unless it came from {@link validatePolicy},
 * so an unchecked policy never reaches them.
 */
export interface ResolvedWorkloadPolicy {
  readonly imageDigests?: readonly string[];
  readonly imageSignatures?: Readonly<ImageSignaturePolicy>;
  readonly projectIds?: readonly string[];
  readonly projectNumbers?: readonly string[];
  readonly serviceAccounts?: readonly string[];
  readonly hardwareModels: readonly HardwareModel[];
  readonly supportAttributes: readonly SupportAttribute[];
  readonly minSwVersion?: number;
  readonly allowDebug: boolean;
  readonly restartPolicies?: readonly RestartPolicy[];
  readonly audience?: string;
  readonly allowAnyWorkload: boolean;
}
