import { describe, expect, it } from "vitest";
import { BrokerMetrics } from "../metrics.js";
import { mergeExpositions } from "./merge-exposition.js";

describe("mergeExpositions", () => {
  it("sums every series of the workers' BrokerMetrics, each family once and grouped", () => {
    const a = new BrokerMetrics();
    const b = new BrokerMetrics();
    a.requests.inc({ outcome: "ok", provider: "azure" });
    a.requests.inc({ outcome: "ok", provider: "azure" });
    b.requests.inc({ outcome: "ok", provider: "azure" });
    b.requests.inc({ outcome: "invalid_token", provider: "aws" });
    a.requestDuration.observe(0.003, { outcome: "ok" });
    b.requestDuration.observe(0.2, { outcome: "ok" });
    a.openConnections.add(1);
    b.openConnections.add(1);
    b.openConnections.add(1);
    const merged = mergeExpositions([a.render(), b.render()]);
    const value = (series: string) =>
      Number(
        merged
          .split("\n")
          .find((l) => l.startsWith(`${series} `))
          ?.slice(series.length + 1),
      );
    expect(value('confspace_broker_requests_total{outcome="ok",provider="azure"}')).toBe(3);
    expect(value('confspace_broker_requests_total{outcome="invalid_token",provider="aws"}')).toBe(1);
    expect(value('confspace_broker_request_duration_seconds_bucket{outcome="ok",le="0.005"}')).toBe(1);
    expect(value('confspace_broker_request_duration_seconds_bucket{outcome="ok",le="+Inf"}')).toBe(2);
    expect(value('confspace_broker_request_duration_seconds_count{outcome="ok"}')).toBe(2);
    expect(value('confspace_broker_request_duration_seconds_sum{outcome="ok"}')).toBeCloseTo(0.203);
    expect(value("confspace_broker_open_connections")).toBe(3);
    // Each family's HELP and TYPE once, and its series right after them (the aws series only
    // exists in the second input, yet lands in the requests family, not at the end).
    const lines = merged.trimEnd().split("\n");
    expect(lines.filter((l) => l === "# TYPE confspace_broker_requests_total counter")).toHaveLength(1);
    const typeAt = lines.indexOf("# TYPE confspace_broker_requests_total counter");
    expect(lines.slice(typeAt + 1, typeAt + 3).every((l) => l.startsWith("confspace_broker_requests_total{"))).toBe(
      true,
    );
    // The same families as one worker's, in the same order.
    const names = (text: string) => text.split("\n").filter((l) => l.startsWith("# TYPE "));
    expect(names(merged)).toEqual(names(a.render()));
  });

  it("is the identity for one input and empty for none", () => {
    const a = new BrokerMetrics();
    a.requests.inc({ outcome: "ok", provider: "aws" });
    expect(mergeExpositions([a.render()])).toBe(a.render());
    expect(mergeExpositions([])).toBe("");
  });
});
