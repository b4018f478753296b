import { describe, expect, it } from "vitest";
import { type AuthBlock, afterLogin, afterRenewal } from "./lease-plan.js";

const auth = (lease: number, renewable = true): AuthBlock => ({ client_token: "t", lease_duration: lease, renewable });
const mid = () => 0.5;

describe("lease plan", () => {
  it("plans a renewal at two thirds of a login's lease", () => {
    const s = afterLogin(auth(30), 1_000, mid);
    expect(s).toMatchObject({ next: "renew", expiresAt: 31_000, leaseMs: 30_000 });
    expect(s.refreshAt).toBe(21_000);
    expect(s.graceMs).toBeCloseTo(4_500);
  });

  it("keeps the jitter within 60–73 % of the lease", () => {
    expect(afterLogin(auth(30), 0, () => 0).refreshAt).toBeCloseTo(18_000);
    expect(afterLogin(auth(30), 0, () => 0.999_999).refreshAt).toBeCloseTo(22_000, -1);
  });

  it("keeps renewing while renewals give the same lease", () => {
    const s = afterRenewal(afterLogin(auth(30), 0, mid), auth(30), 20_000, mid);
    expect(s).toMatchObject({ next: "renew", renewals: 1, expiresAt: 50_000, refreshAt: 40_000 });
  });

  it("plans a login before expiry, leaving the grace, once a renewal is capped by the max TTL", () => {
    const login = afterLogin(auth(30), 0, mid);
    const capped = afterRenewal(login, auth(10), 40_000, mid);
    expect(capped).toMatchObject({ next: "login", reason: "lease stopped growing (max TTL)", expiresAt: 50_000 });
    expect(capped.refreshAt).toBe(45_500); // min(40 s + 2/3·10 s, 50 s − 4.5 s grace)
    const tiny = afterRenewal(login, auth(2), 40_000, mid);
    expect(tiny.refreshAt).toBeLessThan(40_000); // less than the grace left: log in right away
  });

  it("plans a login for a token that is not renewable", () => {
    const s = afterLogin(auth(30, false), 0, mid);
    expect(s).toMatchObject({ next: "login", renewable: false });
    expect(s.refreshAt).toBe(20_000);
    expect(afterRenewal(afterLogin(auth(30), 0, mid), auth(30, false), 20_000, mid).next).toBe("login");
  });

  it("recomputes the grace when the lease grows", () => {
    const s = afterRenewal(afterLogin(auth(10), 0, mid), auth(100), 5_000, mid);
    expect(s.graceMs).toBeCloseTo(15_000);
    expect(s.next).toBe("renew");
  });

  it("ends a batch token's lease a second early: its expiry counts from the whole second it was created in", () => {
    const s = afterLogin({ ...auth(2, false), token_type: "batch" }, 10_000, mid);
    expect(s).toMatchObject({ next: "login", expiresAt: 11_000, leaseMs: 2_000 });
    expect(s.refreshAt).toBe(10_700); // the grace (15 % of 2 s) before that end
    expect(afterLogin({ ...auth(900, false), token_type: "batch" }, 0, mid).expiresAt).toBe(899_000);
    expect(afterLogin(auth(2), 10_000, mid).expiresAt).toBe(12_000); // service tokens: the exact lease
  });
});
