import { definePackageBuild } from "../../tsup.shared.ts";

export default definePackageBuild({
  entry: { index: "src/index.ts", explain: "src/explain/index.ts", cli: "src/cli.ts" },
  bin: ["cli"],
});
