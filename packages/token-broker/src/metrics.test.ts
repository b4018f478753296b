import { describe, expect, it } from "vitest";
import { Counter } from "./internal/prometheus.js";
import { BrokerMetrics } from "./metrics.js";

describe("BrokerMetrics.register", () => {
  it("renders a registered family with the broker's own", () => {
    const metrics = new BrokerMetrics();
    const before = metrics.render();
    const extra = new Counter("confspace_broker_stub_total", "A stub family.");
    extra.inc({ outcome: "ok" });
    metrics.register(extra);
    const after = metrics.render();
    expect(after.split("\n")).toEqual(expect.arrayContaining(before.split("\n")));
    expect(before).not.toContain("confspace_broker_stub_total");
    expect(after).toContain('confspace_broker_stub_total{outcome="ok"} 1');
  });
});
