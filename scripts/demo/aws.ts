// examples/aws-s3 end to end: puts and gets an S3 object with credentials from the broker,
// then by web identity through several 2-second sessions (local STS and S3).
import { runLocal } from "../../examples/aws-s3/src/local.ts";
import { type DemoContext, expectThat } from "./support.ts";

export async function demoAws(ctx: DemoContext): Promise<void> {
  ctx.step(1, 2, "aws: examples/aws-s3 through the broker, then by web identity (local STS and S3)");
  const result = await runLocal({
    durationSeconds: 2,
    rounds: 5,
    brokerRounds: 2,
    intervalMs: 700,
    log: ctx.indent(""),
  });
  ctx.step(2, 2, "aws: checking what happened");
  expectThat(
    result.broker.length === 2 && new Set(result.broker).size === 1,
    "one broker session should serve both broker rounds",
  );
  const sessions = new Set(result.webIdentity).size;
  expectThat(
    result.webIdentity.length === 5 && sessions >= 2,
    `web identity should renew its 2-second sessions (used ${sessions})`,
  );
  console.log(
    `  ✓ one broker session for 2 rounds; ${sessions} web identity sessions for 5 rounds (${result.stsCalls} STS calls)`,
  );
}
