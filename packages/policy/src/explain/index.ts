export type { ExplainPolicyOptions } from "./explain-policy.js";
export { explainPolicy } from "./explain-policy.js";
export type { ExplainedClause, ExplainFormat, Explanation } from "./explanation.js";
