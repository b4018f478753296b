// examples/openbao-autounseal end to end: the broker's key service unseals a real OpenBao
// after a restart, and refuses another image.
import { runLocal } from "../../examples/openbao-autounseal/src/local.ts";
import { type DemoContext, expectThat } from "./support.ts";

export async function demoOpenBao(ctx: DemoContext): Promise<void> {
  ctx.step(1, 2, "openbao: examples/openbao-autounseal — OpenBao auto-unseals through the broker's key service");
  const result = await runLocal(ctx.indent(""));
  ctx.step(2, 2, "openbao: checking what happened");
  expectThat(result.grant === "openbao", `the certificate should be for grant openbao (${result.grant})`);
  expectThat(!result.afterRestart.sealed && result.afterRestart.type === "transit", "OpenBao should unseal by itself");
  expectThat(result.secretReadBack, "the secret written before the restart should read back");
  expectThat(result.imageB.startsWith("refused"), `image B should be refused (${result.imageB})`);
  console.log("  ✓ unsealed by itself after a restart, secret read back, image B refused");
}
