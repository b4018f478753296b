// `@confspace/policy/explain`: a subpath of its own, so the verifier and the broker, which
// import the package's evaluator, never load the CEL and YAML libraries explain needs.
export type { ExplainPolicyOptions } from "./explain-policy.js";
export { explainPolicy } from "./explain-policy.js";
export type { ExplainedClause, ExplainFormat, Explanation } from "./explanation.js";
