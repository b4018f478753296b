import { describe, expect, it } from "vitest";
import { CONNECTION_DEFAULTS, FD_HEADROOM, fileDescriptorLimit, sourceKey } from "./connection-guard.js";

describe("sourceKey", () => {
  it.each([
    ["an IPv4 address", "203.0.113.7", "203.0.113.7"],
    ["an IPv4-mapped IPv6 address", "::ffff:203.0.113.7", "203.0.113.7"],
    ["an IPv6 address: its /64", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["another host of the same /64", "2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["a compressed IPv6 address", "2001:db8::1", "2001:db8:0:0::/64"],
    ["leading zeros", "2001:0db8:0001:0002::1", "2001:db8:1:2::/64"],
    ["loopback ::1", "::1", "0:0:0:0::/64"],
    ["no address (socket already gone)", undefined, "unknown"],
  ])("keys %s", (_name, address, key) => {
    expect(sourceKey(address)).toBe(key);
  });

  it("keys each address right when the same and different addresses alternate (it remembers the last one)", () => {
    const asked = ["203.0.113.7", "203.0.113.7", "::ffff:198.51.100.1", "203.0.113.7", "2001:db8::1", "2001:db8::1"];
    expect(asked.map(sourceKey)).toEqual([
      "203.0.113.7",
      "203.0.113.7",
      "198.51.100.1",
      "203.0.113.7",
      "2001:db8:0:0::/64",
      "2001:db8:0:0::/64",
    ]);
  });
});

describe("connection defaults", () => {
  it("fit the defaults in a 1,024 descriptor limit with the documented headroom", () => {
    expect(CONNECTION_DEFAULTS).toEqual({
      handshakeTimeoutSeconds: 5,
      maxConnections: 512,
      maxConnectionsPerSource: 64,
    });
    expect(CONNECTION_DEFAULTS.maxConnections + FD_HEADROOM).toBeLessThanOrEqual(1024);
  });

  it("reads this process's soft descriptor limit on Linux", () => {
    expect(fileDescriptorLimit()).toBeGreaterThan(0);
  });
});
