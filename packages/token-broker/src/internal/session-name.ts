import { ReplyError } from "./reply-error.js";
import type { WorkloadIdentity } from "./workload-identity.js";

/** AWS `RoleSessionName` (and `SourceIdentity`): 2–64 characters of `[\w+=,.@-]`. */
const MAX_LENGTH = 64;
const DIGITS = /^[0-9]{1,20}$/;

/**
 * The name AWS sessions of this workload carry: `{project number}-{instance id}` from the
 * verified token (both numbers; together they name one VM). No client input: it
 * is also what the broker sends as `SourceIdentity`.
 *
 * @throws {ReplyError} `access_denied`: the token names no project number or instance id.
 */
export function verifiedSessionBase(identity: WorkloadIdentity): string {
  const { projectNumber, instanceId } = identity;
  if (
    projectNumber === undefined ||
    instanceId === undefined ||
    !DIGITS.test(projectNumber) ||
    !DIGITS.test(instanceId)
  ) {
    throw new ReplyError(
      "access_denied",
      "the attestation token names no numeric submods.gce.project_number and instance_id; AWS sessions are named after them",
    );
  }
  return `${projectNumber}-${instanceId}`;
}

/**
 * The `RoleSessionName` of a request: the verified base, then `.` and the workload's own
 * `session_name` when it gave one. The base ends at the first `.`, so no workload can pick
 * a name another workload's sessions carry, and a trust or resource policy can match a
 * workload with `sts:RoleSessionName` / `aws:userid` patterns such as `*:123456789012-*`.
 *
 * @throws {ReplyError} `invalid_request`: the requested suffix does not fit in 64 characters.
 */
export function sessionName(base: string, requested: string | undefined): string {
  if (requested === undefined) return base;
  const room = MAX_LENGTH - base.length - 1;
  if (requested.length > room) {
    throw new ReplyError(
      "invalid_request",
      `"session_name" is appended to this workload's verified name (${base.length} characters): at most ${room} characters fit`,
    );
  }
  return `${base}.${requested}`;
}
