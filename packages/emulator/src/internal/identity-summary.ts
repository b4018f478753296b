import { DEBUG_DISABLED, DEFAULT_HARDWARE_MODELS } from "@confspace/policy";

/** The policy's default `hardwareModels` (a policy repeats them only when the claims differ). */
const DEFAULT_HARDWARE: readonly string[] = DEFAULT_HARDWARE_MODELS;

/** What a first verifier policy or broker grant needs to accept the emulator's workload. */
export interface AcceptingPolicy {
  /** For `createAttestationVerifier({ policy })` and the broker's `attestation.policy`. */
  policy: Record<string, unknown>;
  /** For a broker grant's `match`: the same `WorkloadPolicy`, read the same way. */
  match: Record<string, unknown>;
}

/**
 * The narrowest policy that accepts tokens with these claims: the image digest, plus the
 * opt-ins the verifier's defaults would otherwise refuse (a debug image, no `STABLE`
 * support attribute, a hardware model off the default list).
 */
export function acceptingPolicy(claims: Record<string, unknown>): AcceptingPolicy {
  const { container } = submods(claims);
  const digest = container.image_digest;
  const pin = typeof digest === "string" ? { imageDigests: [digest] } : {};
  const debug = claims.dbgstat !== DEBUG_DISABLED;
  const support = submods(claims).confidential_space.support_attributes;
  const stable = Array.isArray(support) && support.includes("STABLE");
  const hwmodel = claims.hwmodel;
  const hardware =
    typeof hwmodel === "string" && !DEFAULT_HARDWARE.includes(hwmodel) ? { hardwareModels: [hwmodel] } : {};
  const policy = {
    ...pin,
    ...hardware,
    ...(stable ? {} : { supportAttributes: [] }),
    ...(debug ? { allowDebug: true } : {}),
  };
  return { policy, match: { ...policy } };
}

/**
 * What `confspace-emulator` prints on stderr at startup: the identity it signs and a
 * policy snippet that accepts it, so a first verifier or broker config needs no token
 * decoding. Claims only: the emulator holds no secret worth hiding here.
 */
export function identitySummary(claims: Record<string, unknown>): string {
  const { container, gce, confidential_space: space } = submods(claims);
  const list = (value: unknown) => (Array.isArray(value) && value.length > 0 ? value.join(", ") : "(none)");
  const rows: [string, unknown][] = [
    ["image_digest", container.image_digest],
    ["image_reference", container.image_reference],
    ["restart_policy", container.restart_policy],
    ["project_id", gce.project_id],
    ["project_number", gce.project_number],
    ["instance", `${gce.instance_name} (id ${gce.instance_id}) in ${gce.zone}`],
    ["service_accounts", list(claims.google_service_accounts)],
    ["hwmodel", claims.hwmodel],
    ["swname / swversion", `${claims.swname} ${list(claims.swversion)}`],
    ["dbgstat", claims.dbgstat],
    ["support_attributes", list(space.support_attributes)],
    ["image key_ids", list(((container.image_signatures as { key_id?: unknown }[]) ?? []).map((s) => s.key_id))],
  ];
  const { policy, match } = acceptingPolicy(claims);
  const yaml = (value: Record<string, unknown>, indent: string) =>
    Object.entries(value).map(([key, v]) => `${indent}${key}: ${JSON.stringify(v)}`);
  return [
    "confspace-emulator: signing tokens for this workload:",
    ...rows.map(([name, value]) => `  ${name.padEnd(19)} ${String(value)}`),
    "verifier policy that accepts it (createAttestationVerifier({ issuer, audience, policy })):",
    `  ${JSON.stringify(policy)}`,
    "broker config that accepts it (broker.yaml):",
    "  attestation:",
    "    policy:",
    ...yaml(policy, "      "),
    "  grants:",
    "    - name: local-emulator",
    "      match:",
    ...yaml(match, "        "),
    "",
  ].join("\n");
}

interface Submods {
  container: Record<string, unknown>;
  gce: Record<string, unknown>;
  confidential_space: Record<string, unknown>;
}

function submods(claims: Record<string, unknown>): Submods {
  const s = (claims.submods ?? {}) as Partial<Submods>;
  return { container: s.container ?? {}, gce: s.gce ?? {}, confidential_space: s.confidential_space ?? {} };
}
