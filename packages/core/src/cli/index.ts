// `@confspace/core/cli`: helpers the confspace command-line tools (confspace-broker,
// confspace-emulator, confspace-local) share. Node.js only; kept out of the main entry so
// an app importing `@confspace/core` never loads them.
export type { StopWhenOrphanedOptions } from "./stop-when-orphaned.js";
export { stopWhenOrphaned } from "./stop-when-orphaned.js";
