// examples/gcp-kms-multiparty end to end: two collaborators' KMS keys, one approved image
// (local Google STS and KMS); a newer build only collaborator 1 approved reads only its data.
import { runLocal } from "../../examples/gcp-kms-multiparty/src/local.ts";
import { type DemoContext, expectThat } from "./support.ts";

export async function demoGcp(ctx: DemoContext): Promise<void> {
  ctx.step(1, 2, "gcp: examples/gcp-kms-multiparty, the approved build and a new one (local STS and KMS)");
  const run = await runLocal(ctx.indent(""));
  ctx.step(2, 2, "gcp: checking what happened");
  const approved = JSON.stringify(run.approved.decrypted);
  expectThat(
    approved === '{"collaborator-1":2,"collaborator-2":2}',
    `the approved build should read every message (${approved})`,
  );
  expectThat(run.kmsCallsForUnknown === 0, "the unknown collaborator's message must not reach KMS");
  const newBuild = JSON.stringify(run.newBuild.decrypted);
  expectThat(
    newBuild === '{"collaborator-1":2,"collaborator-2":0}',
    `the new build should read collaborator 1's only (${newBuild})`,
  );
  console.log(
    "  ✓ approved build: both collaborators; new build: collaborator 1 only; the unknown sender never reached KMS",
  );
}
