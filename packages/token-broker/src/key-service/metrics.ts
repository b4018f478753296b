import { Counter, Gauge, Histogram, type Metric } from "../internal/prometheus.js";

/** What a key service request asked for, as counted and logged. */
export type KeyOperation =
  | "encrypt"
  | "decrypt"
  | "datakey_plaintext"
  | "datakey_wrapped"
  | "token_lookup_self"
  | "token_renew_self"
  | "other";

/**
 * Outcome of one key service request: `ok`, `client_closed` (the client went away), or
 * why it was refused.
 */
export type KeyRequestOutcome =
  | "ok"
  | "client_closed"
  | "invalid_request"
  | "invalid_ciphertext"
  | "permission_denied"
  | "not_found"
  | "method_not_allowed"
  | "request_too_large"
  | "unavailable"
  | "server_error";

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The key service's metrics (rendered with the broker's on `GET /metrics`):
 *
 * - `confspace_broker_key_requests_total{operation,outcome}` — transit requests by outcome;
 * - `confspace_broker_key_request_duration_seconds{operation}` — time to answer one;
 * - `confspace_broker_key_open_connections` — client connections open on the key service listener;
 * - `confspace_broker_key_handshake_failures_total` — TLS handshakes refused (no, an
 *   expired or a foreign client certificate, …).
 *
 * Labels are fixed vocabularies; key and grant names go to the logs, not to labels.
 */
export class KeyServiceMetrics {
  readonly requests = new Counter(
    "confspace_broker_key_requests_total",
    "Key service (transit API) requests answered, by operation and outcome.",
  );
  readonly requestDuration = new Histogram(
    "confspace_broker_key_request_duration_seconds",
    "Time to answer a key service request, seconds.",
    LATENCY_BUCKETS,
  );
  readonly openConnections = new Gauge(
    "confspace_broker_key_open_connections",
    "Client connections open on the key service listener.",
  );
  readonly handshakeFailures = new Counter(
    "confspace_broker_key_handshake_failures_total",
    "TLS handshakes the key service refused (missing, expired or foreign client certificate, …).",
  );

  /** Every family, for `BrokerMetrics.register`. */
  readonly families: readonly Metric[] = [
    this.requests,
    this.requestDuration,
    this.openConnections,
    this.handshakeFailures,
  ];

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return this.families.map((family) => family.render()).join("");
  }
}
