import { describe, expect, it } from "vitest";
import { METRICS_DEFAULTS } from "./metrics-listener.js";

describe("metrics listener defaults", () => {
  it("is loopback-only on the common exporter port by default", () => {
    expect(METRICS_DEFAULTS).toEqual({ host: "127.0.0.1", port: 9464 });
  });
});
