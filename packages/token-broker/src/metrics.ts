import type { BrokerErrorReplyCode } from "@confspace/ekm-tls";
import { Counter, Gauge, Histogram, type Metric } from "./internal/prometheus.js";

/**
 * Outcome of one `POST /v1/token`, as counted and logged: the `error` code of the reply,
 * `ok`, or `client_closed` (the client went away before the answer; nothing was sent).
 */
export type RequestOutcome = "ok" | "client_closed" | BrokerErrorReplyCode;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The broker's metrics, rendered by `GET /metrics` in the Prometheus text format:
 *
 * - `confspace_broker_requests_total{outcome,provider}` — token requests by outcome;
 * - `confspace_broker_request_duration_seconds{outcome}` — time to answer a token request;
 * - `confspace_broker_verification_failures_total{check}` — attestation failures by check;
 * - `confspace_broker_upstream_requests_total{provider,outcome}` — calls to Entra / STS;
 * - `confspace_broker_upstream_duration_seconds{provider,outcome}` — their latency;
 * - `confspace_broker_upstream_cache_total{provider,result}` — `hit` (served from the
 *   broker's cache), `miss` (waited for an upstream call, possibly shared);
 * - `confspace_broker_inflight_requests` — token requests being answered;
 * - `confspace_broker_open_connections` — client connections open on the token listener;
 * - `confspace_broker_connections_refused_total{reason}` — connections closed at accept:
 *   `max_connections` (the global cap) or `per_source` (one source's cap);
 * - those of providers and services added with {@link BrokerMetrics.register} (the key
 *   service's `confspace_broker_key_*`).
 *
 * Labels hold only fixed vocabularies (outcomes, checks, providers), never claim values,
 * so series stay bounded.
 */
export class BrokerMetrics {
  /** `confspace_broker_requests_total{outcome,provider}`. */
  readonly requests = new Counter("confspace_broker_requests_total", "Token requests answered, by outcome.");
  /** `confspace_broker_request_duration_seconds{outcome}`. */
  readonly requestDuration = new Histogram(
    "confspace_broker_request_duration_seconds",
    "Time to answer a token request, seconds.",
    LATENCY_BUCKETS,
  );
  /** `confspace_broker_verification_failures_total{check}`. */
  readonly verificationFailures = new Counter(
    "confspace_broker_verification_failures_total",
    "Attestation tokens rejected, by the verifier check that failed.",
  );
  /** `confspace_broker_upstream_requests_total{provider,outcome}`. */
  readonly upstreamRequests = new Counter(
    "confspace_broker_upstream_requests_total",
    "Calls to upstream identity providers (Microsoft Entra, AWS STS), by outcome.",
  );
  /** `confspace_broker_upstream_duration_seconds{provider,outcome}`. */
  readonly upstreamDuration = new Histogram(
    "confspace_broker_upstream_duration_seconds",
    "Latency of calls to upstream identity providers, seconds.",
    LATENCY_BUCKETS,
  );
  /** `confspace_broker_upstream_cache_total{provider,result}`. */
  readonly upstreamCache = new Counter(
    "confspace_broker_upstream_cache_total",
    "Upstream credential lookups: hit = served from the broker's cache, miss = waited for an upstream call.",
  );
  /** `confspace_broker_inflight_requests`. */
  readonly inflight = new Gauge("confspace_broker_inflight_requests", "Token requests being answered.");
  /** `confspace_broker_open_connections`. */
  readonly openConnections = new Gauge(
    "confspace_broker_open_connections",
    "Client connections open on the token listener.",
  );
  /** `confspace_broker_connections_refused_total{reason}`. */
  readonly connectionsRefused = new Counter(
    "confspace_broker_connections_refused_total",
    "Connections closed at accept: max_connections (global cap) or per_source (one source's cap).",
  );

  readonly #families: Metric[] = [
    this.requests,
    this.requestDuration,
    this.verificationFailures,
    this.upstreamRequests,
    this.upstreamDuration,
    this.upstreamCache,
    this.inflight,
    this.openConnections,
    this.connectionsRefused,
  ];

  /** Records one upstream call and its latency. */
  observeUpstream(provider: string, outcome: "ok" | "error", seconds: number): void {
    this.upstreamRequests.inc({ provider, outcome });
    this.upstreamDuration.observe(seconds, { provider, outcome });
  }

  /**
   * Adds metrics of a provider or service (e.g. the key service's) to `GET /metrics`,
   * rendered with the broker's own. Names must start with `confspace_broker_`; labels hold
   * fixed vocabularies only.
   */
  register(family: Metric): void {
    this.#families.push(family);
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return this.#families.map((family) => family.render()).join("");
  }
}

/** `Content-Type` of {@link BrokerMetrics.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
