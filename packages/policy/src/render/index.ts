// Renderers: one file per target, beside its siblings. A new target is a new file here.
export type { AwsRendering, AwsRenderOptions, AwsTrustPolicy } from "./aws.js";
export { renderAws } from "./aws.js";
export type { BrokerRendering, BrokerRenderOptions } from "./broker.js";
export { renderBroker } from "./broker.js";
export type { GcpRendering, GcpRenderOptions } from "./gcp.js";
export { renderGcp } from "./gcp.js";
export type { RenderClause, RenderCommonOptions, UnenforcedClause } from "./internal/effective.js";
export { GOOGLE_ISSUER, PolicyNotExpressibleError } from "./internal/effective.js";
export type { VaultAuthConfig, VaultRendering, VaultRenderOptions, VaultRole } from "./vault.js";
export { renderVault } from "./vault.js";
