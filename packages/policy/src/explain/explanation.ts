/** The kinds of configuration {@link explainPolicy} reads. */
export type ExplainFormat = "policy" | "gcp" | "vault-role" | "vault-config" | "aws" | "broker";

/** One clause of the configuration, checked against the token's claims. */
export interface ExplainedClause {
  /**
   * The clause as the configuration writes it: a CEL conjunct, `bound_claims./submods/container/image_digest`,
   * `StringEquals aws:RequestTag/gce.project_id`, `grants[0].match image_digest`, a policy clause name.
   */
  readonly clause: string;
  /** Whether the claims satisfy it. */
  readonly ok: boolean;
  /** The claim it reads, as a dotted path (`submods.container.image_digest`), when there is one. */
  readonly claim?: string;
  /**
   * The claim's value as the token carries it (non-secret claims only: never `eat_nonce`,
   * the container's `env` or `args`; long values shortened). Absent when the claim is absent.
   */
  readonly value?: unknown;
  /** What was checked or why it failed, naming a known trap when it sees one. */
  readonly message: string;
}

/** What {@link explainPolicy} found. */
export interface Explanation {
  /** What the configuration was read as. */
  readonly format: ExplainFormat;
  /** Whether the target would admit the token, as far as its claims decide (signatures and times are not checked). */
  readonly admitted: boolean;
  /** The first clause that fails, if any. */
  readonly failed?: ExplainedClause;
  /** Every clause, in the configuration's order. */
  readonly clauses: readonly ExplainedClause[];
  /** Mistakes in the configuration itself that hold whatever the token (an unknown field, a trailing slash). */
  readonly warnings: readonly string[];
}

/** Builds an {@link Explanation} from clause results. */
export function explanation(
  format: ExplainFormat,
  clauses: ExplainedClause[],
  warnings: string[] = [],
  admitted?: boolean,
): Explanation {
  const admits = admitted ?? clauses.every((c) => c.ok);
  const failed = admits ? undefined : clauses.find((c) => !c.ok);
  return Object.freeze({
    format,
    admitted: admits,
    ...(failed !== undefined && { failed }),
    clauses: Object.freeze(clauses),
    warnings: Object.freeze(warnings),
  });
}
