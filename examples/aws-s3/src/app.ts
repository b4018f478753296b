// The workload: put an object and read it back with the official S3 client, over and
// over, with whatever AwsCredentialIdentityProvider it is given. Nothing here knows
// where the credentials come from.
import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { ConfspaceAwsCredentialProvider } from "@confspace/aws-credential";

export interface AppOptions {
  /** From `fromBroker(...)` or `fromWebIdentity(...)`. */
  credentials: ConfspaceAwsCredentialProvider;
  bucket: string;
  region: string;
  /** Object key prefix. */
  prefix: string;
  /** Put/get rounds. */
  rounds: number;
  /** Pause between rounds, ms. */
  intervalMs: number;
  /** Extra S3 client configuration (a local endpoint, `forcePathStyle`). */
  s3?: Omit<S3ClientConfig, "credentials" | "region">;
  log?: (line: string) => void;
}

export interface RoundResult {
  key: string;
  /** Last 4 characters of the access key that signed the round (never the whole key). */
  keyTail: string;
  expiration: Date | undefined;
}

/** Runs `rounds` put/get rounds; throws on the first failure or mismatch. */
export async function runApp(options: AppOptions): Promise<RoundResult[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const s3 = new S3Client({ ...options.s3, region: options.region, credentials: options.credentials });
  const results: RoundResult[] = [];
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      const key = `${options.prefix}/round-${round}.txt`;
      const body = `confspace round ${round} at ${new Date().toISOString()}`;
      await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: body, ContentType: "text/plain" }));
      const got = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
      const text = await got.Body?.transformToString();
      if (text !== body) throw new Error(`read back something else from s3://${options.bucket}/${key}`);
      const identity = await options.credentials();
      const result = { key, keyTail: identity.accessKeyId.slice(-4), expiration: identity.expiration };
      results.push(result);
      log(
        `round ${round}: put+get s3://${options.bucket}/${key} ok — access key …${result.keyTail}, expires ${result.expiration?.toISOString() ?? "never"}`,
      );
      if (round < options.rounds) await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    }
  } finally {
    s3.destroy();
  }
  return results;
}
