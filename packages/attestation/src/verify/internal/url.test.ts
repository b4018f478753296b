import { describe, expect, it } from "vitest";
import { fetchableUrlProblem } from "./url.js";

describe("fetchableUrlProblem", () => {
  it.each([
    "https://confidentialcomputing.googleapis.com",
    "https://www.googleapis.com/service_accounts/v1/metadata/jwk/signer@confidentialspace-sign.iam.gserviceaccount.com",
    "http://127.0.0.1:8080/jwks",
    "http://127.255.0.1",
    "http://127.0.10.1",
    "http://127.100.200.1",
    "http://127.1", // the URL parser normalizes it to 127.0.0.1
    "http://[::1]:9000",
    "http://localhost:9000",
  ])("accepts %s", (url) => {
    expect(fetchableUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ["http://issuer.example", /must be https/],
    ["http://128.0.0.1", /must be https/],
    ["http://127.0.0.1.example", /must be https/],
    ["http://127.0.0.1a", /must be https/],
    ["http://[::ffff:127.0.0.1]", /must be https/],
    ["http://localhost.example", /must be https/],
    ["file:///etc/passwd", /must be https/],
    ["https://user:pass@issuer.example", /credentials/],
    ["https://user@issuer.example", /credentials/],
    ["https://:pass@issuer.example", /credentials/],
    ["https://issuer.example/?x=1", /query or fragment/],
    ["https://issuer.example/#frag", /query or fragment/],
    ["/relative", /absolute URL/],
    [42, /string/],
  ])("refuses %s", (url, problem) => {
    expect(fetchableUrlProblem(url)).toMatch(problem);
  });
});
