import { parseProviderAudience } from "@confspace/gcp-federation";

/** One data collaborator, as the workload is built to know it. */
export interface Collaborator {
  /** The name messages carry, e.g. `collaborator-1`. */
  name: string;
  /** The collaborator's workload identity pool provider. */
  audience: string;
  /** The collaborator's Cloud KMS key, `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  keyName: string;
  /** A service account of the collaborator to impersonate, if the collaborator grants KMS to one rather than to the pool. */
  serviceAccount?: string;
}

const KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

/**
 * Validates the fixed collaborator list. It belongs in the image (so it is covered by the
 * image digest every collaborator approved), not in operator-controlled metadata: whoever
 * can add a collaborator can make the workload decrypt for them.
 */
export function parseCollaborators(value: unknown): Collaborator[] {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError("collaborators: expected a non-empty array");
  const names = new Set<string>();
  return value.map((entry, index) => {
    const item = entry as Partial<Collaborator>;
    const where = `collaborators[${index}]`;
    if (typeof item.name !== "string" || !/^[\w.-]{1,64}$/.test(item.name))
      throw new TypeError(`${where}.name is missing or malformed`);
    if (names.has(item.name)) throw new TypeError(`${where}.name "${item.name}" is listed twice`);
    names.add(item.name);
    if (typeof item.audience !== "string") throw new TypeError(`${where}.audience is missing`);
    parseProviderAudience(item.audience, `${where}.audience`);
    if (typeof item.keyName !== "string" || !KEY_NAME.test(item.keyName)) {
      throw new TypeError(`${where}.keyName must be projects/P/locations/L/keyRings/R/cryptoKeys/K`);
    }
    if (item.serviceAccount !== undefined && typeof item.serviceAccount !== "string") {
      throw new TypeError(`${where}.serviceAccount must be an email`);
    }
    return { name: item.name, audience: item.audience, keyName: item.keyName, serviceAccount: item.serviceAccount };
  });
}
