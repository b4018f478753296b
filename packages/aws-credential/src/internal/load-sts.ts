import type * as Sts from "@aws-sdk/client-sts";

let loading: Promise<typeof Sts> | undefined;

/**
 * The AWS SDK's STS client, imported on first use rather than when this package loads: it
 * is most of a cold import's cost, and the broker path never needs it. A failed import is
 * not cached, so a later call tries again.
 */
export function loadSts(): Promise<typeof Sts> {
  loading ??= import("@aws-sdk/client-sts").catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
