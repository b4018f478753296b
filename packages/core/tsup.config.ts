import { definePackageBuild } from "../../tsup.shared.ts";

export default definePackageBuild({
  entry: { index: "src/index.ts", cli: "src/cli/index.ts", der: "src/der/index.ts" },
});
