/** A payload whose signature verified, not yet known to match `ConfidentialSpaceClaims`. */
export type Payload = Readonly<Record<string, unknown>>;
