export type {
  LocalEntra,
  LocalEntraClient,
  LocalEntraOptions,
  LocalEntraRequest,
} from "./entra.js";
export { startLocalEntra } from "./entra.js";
export type { TestPki, TestPkiOptions } from "./tls.js";
export { createTestPki, trustCaInProcess } from "./tls.js";
