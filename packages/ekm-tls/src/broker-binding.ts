import { EkmArgumentError } from "./errors.js";
import type { ExportKeyingMaterialOptions } from "./export-keying-material.js";

/** Exporter label of the token broker protocol v1 (docs/ARCHITECTURE.md, "The broker protocol (v1)"). */
export const BROKER_EKM_LABEL = "EXPORTER-confspace-broker-v1";

/** Keying material length of the token broker protocol v1, in bytes. */
export const BROKER_EKM_LENGTH = 32;

/**
 * The exporter inputs of the token broker protocol v1 for one audience: label
 * {@link BROKER_EKM_LABEL}, context the audience as UTF-8, length {@link BROKER_EKM_LENGTH}.
 * The workload (with `connectBound`) and the broker (with `requestKeyingMaterial`) pass
 * the same object, so both compute the same bytes.
 *
 * @example
 * ```ts
 * const conn = await connectBound(brokerUrl, { ...brokerEkmOptions(audience), tls: { ca } });
 * ```
 */
export function brokerEkmOptions(audience: string): Required<ExportKeyingMaterialOptions> {
  if (typeof audience !== "string" || audience.length === 0) {
    throw new EkmArgumentError("audience", "audience must be a non-empty string (the attestation token's audience)");
  }
  return { label: BROKER_EKM_LABEL, context: audience, length: BROKER_EKM_LENGTH };
}

/**
 * The nonce an attestation token carries to bind it to one broker connection: the
 * keying material as base64url without padding. 32 bytes give 43 characters, inside the
 * launcher's 10 to 74 byte nonce limit.
 *
 * @throws {EkmArgumentError} unless `ekm` is exactly {@link BROKER_EKM_LENGTH} bytes.
 *
 * @example
 * ```ts
 * const token = await launcher.requestToken({ audience, nonces: [brokerNonce(conn.ekm)] });
 * ```
 */
export function brokerNonce(ekm: Uint8Array): string {
  if (!(ekm instanceof Uint8Array) || ekm.length !== BROKER_EKM_LENGTH) {
    throw new EkmArgumentError("ekm", `ekm must be the ${BROKER_EKM_LENGTH}-byte keying material of the connection`);
  }
  return Buffer.from(ekm.buffer, ekm.byteOffset, ekm.byteLength).toString("base64url");
}
