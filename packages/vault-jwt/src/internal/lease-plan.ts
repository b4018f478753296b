// When to act on a Vault token, and whether the next act is a renewal or a login. Pure
// functions, so the timing can be tested without a server. The rules follow the
// lifetime watcher that Vault Agent and OpenBao Agent auto-auth use (api/lifetime_watcher.go
// in github.com/openbao/openbao and github.com/hashicorp/vault): sleep two thirds of the
// lease plus a third of the grace, the grace being a random 10–20 % of the lease; and once a
// renewal stops extending the lease (the max TTL caps it), stop renewing when what is left
// is within the grace and log in again before the token expires.

/** A Vault token and what is known of its lease. The token itself never leaves this module's callers' memory. */
export interface Session {
  token: string;
  accessor: string | undefined;
  policies: string[];
  tokenType: string;
  renewable: boolean;
  /** Lease of the last login or renewal, ms. */
  leaseMs: number;
  /** When the request that produced the lease was sent (a conservative start), ms epoch. */
  startedAt: number;
  /** startedAt + leaseMs. */
  expiresAt: number;
  /** When the token was obtained by login, ms epoch. */
  loggedInAt: number;
  /** 10–20 % of the longest lease seen, ms. */
  graceMs: number;
  /** What the next refresh does. */
  next: "renew" | "login";
  /** Why, for logs: "renewable", "not renewable", "lease stopped growing". */
  reason: string;
  renewals: number;
  /** When the next refresh is due, ms epoch. */
  refreshAt: number;
}

/** Vault's `auth` block, the parts used. */
export interface AuthBlock {
  client_token: string;
  accessor?: string;
  policies?: string[];
  token_type?: string;
  lease_duration: number;
  renewable: boolean;
}

/** Lease 0 means a token that never expires (root-like); it is looked at again after this long. */
const NON_EXPIRING_RECHECK_MS = 24 * 3600_000;

function grace(leaseMs: number, random: () => number): number {
  return leaseMs * (0.1 + 0.1 * random());
}

/** Two thirds of the lease, ± 1/15 of it (so between 60 % and 73 %). */
function refreshPoint(session: Omit<Session, "refreshAt">, random: () => number): number {
  const factor = 2 / 3 + (random() - 0.5) * (2 / 15);
  const at = session.startedAt + session.leaseMs * factor;
  if (session.next === "renew") return at;
  // A login is due: leave at least the grace before expiry for it (and its retries).
  return Math.min(at, session.expiresAt - session.graceMs);
}

/**
 * A batch token carries its creation time in whole seconds and expires at that second
 * plus its TTL (OpenBao 2.7.2: a 2 s batch token issued at x.913 s is refused from
 * x+2.000 s on), so up to a second before the lease would end. Service tokens expire on
 * their lease's exact time.
 */
function truncationMs(tokenType: string, leaseMs: number): number {
  return tokenType === "batch" ? Math.min(1_000, leaseMs / 2) : 0;
}

/** A session from a login's `auth` block. */
export function afterLogin(auth: AuthBlock, startedAt: number, random: () => number): Session {
  const leaseMs = auth.lease_duration > 0 ? auth.lease_duration * 1000 : NON_EXPIRING_RECHECK_MS;
  const tokenType = auth.token_type ?? "service";
  const base: Omit<Session, "refreshAt"> = {
    token: auth.client_token,
    accessor: auth.accessor,
    policies: auth.policies ?? [],
    tokenType,
    renewable: auth.renewable,
    leaseMs,
    startedAt,
    expiresAt: startedAt + leaseMs - (auth.lease_duration > 0 ? truncationMs(tokenType, leaseMs) : 0),
    loggedInAt: startedAt,
    graceMs: grace(leaseMs, random),
    next: auth.renewable && auth.lease_duration > 0 ? "renew" : auth.lease_duration > 0 ? "login" : "renew",
    reason: auth.renewable ? "renewable" : "not renewable",
    renewals: 0,
  };
  return { ...base, refreshAt: refreshPoint(base, random) };
}

/** The session after a renewal of `previous` answered with `auth`. */
export function afterRenewal(previous: Session, auth: AuthBlock, startedAt: number, random: () => number): Session {
  const leaseMs = auth.lease_duration > 0 ? auth.lease_duration * 1000 : NON_EXPIRING_RECHECK_MS;
  // Vault answers whole seconds; a lease shorter than the previous one means the max TTL capped it.
  const stopped = auth.lease_duration > 0 && leaseMs < previous.leaseMs;
  const grew = leaseMs > previous.leaseMs;
  const renewable = auth.renewable;
  const base: Omit<Session, "refreshAt"> = {
    ...previous,
    token: auth.client_token || previous.token,
    renewable,
    leaseMs,
    startedAt,
    expiresAt: startedAt + leaseMs - (auth.lease_duration > 0 ? truncationMs(previous.tokenType, leaseMs) : 0),
    graceMs: grew ? grace(leaseMs, random) : previous.graceMs,
    next: renewable && !stopped ? "renew" : "login",
    reason: !renewable ? "not renewable" : stopped ? "lease stopped growing (max TTL)" : "renewable",
    renewals: previous.renewals + 1,
  };
  return { ...base, refreshAt: refreshPoint(base, random) };
}
