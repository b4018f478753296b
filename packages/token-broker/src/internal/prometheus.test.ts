import { describe, expect, it } from "vitest";
import { BrokerMetrics } from "../metrics.js";
import { Counter, Histogram } from "./prometheus.js";

describe("Prometheus exposition", () => {
  it("renders counters with HELP, TYPE and escaped labels", () => {
    const counter = new Counter("x_total", "Things.\nCounted");
    counter.inc({ label: 'a"b\\c\nd' });
    counter.inc({ label: 'a"b\\c\nd' }, 2);
    expect(counter.render()).toBe(
      '# HELP x_total Things.\\nCounted\n# TYPE x_total counter\nx_total{label="a\\"b\\\\c\\nd"} 3\n',
    );
  });

  it("renders cumulative histogram buckets, +Inf, sum and count", () => {
    const histogram = new Histogram("d_seconds", "Durations.", [0.1, 1]);
    histogram.observe(0.05);
    histogram.observe(0.5);
    histogram.observe(5);
    expect(histogram.render().split("\n")).toEqual([
      "# HELP d_seconds Durations.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{le="0.1"} 1',
      'd_seconds_bucket{le="1"} 2',
      'd_seconds_bucket{le="+Inf"} 3',
      "d_seconds_sum 5.55",
      "d_seconds_count 3",
      "",
    ]);
  });

  it("lists every broker metric family, even before any request", () => {
    const text = new BrokerMetrics().render();
    for (const name of [
      "confspace_broker_requests_total counter",
      "confspace_broker_request_duration_seconds histogram",
      "confspace_broker_verification_failures_total counter",
      "confspace_broker_upstream_requests_total counter",
      "confspace_broker_upstream_duration_seconds histogram",
      "confspace_broker_upstream_cache_total counter",
      "confspace_broker_inflight_requests gauge",
    ]) {
      expect(text).toContain(`# TYPE ${name}\n`);
    }
  });
});
