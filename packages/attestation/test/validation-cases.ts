import type { TokenRequest } from "../src/token-request.js";

/** A request every check accepts; each case below changes exactly one thing. */
export const VALID_REQUEST: TokenRequest = Object.freeze({
  audience: "https://broker.example.com",
  nonces: ["0123456789", "a".repeat(74)],
  tokenType: "AWS_PRINCIPALTAGS",
  awsPrincipalTagKeyIds: ["projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"],
});

/** One mutation per row, with the field the error must name. */
export const INVALID_REQUESTS: ReadonlyArray<{ name: string; mutate: (r: TokenRequest) => unknown; field: string }> = [
  { name: "audience missing", mutate: ({ audience: _, ...r }) => r, field: "audience" },
  { name: "audience empty", mutate: (r) => ({ ...r, audience: "" }), field: "audience" },
  { name: "audience not a string", mutate: (r) => ({ ...r, audience: 42 }), field: "audience" },
  { name: "audience 513 bytes", mutate: (r) => ({ ...r, audience: `https://${"a".repeat(505)}` }), field: "audience" },
  // 171 three-byte characters: 171 characters but 513 UTF-8 bytes.
  {
    name: "audience 513 UTF-8 bytes in fewer characters",
    mutate: (r) => ({ ...r, audience: "€".repeat(171) }),
    field: "audience",
  },
  {
    name: "audience is the default token's",
    mutate: (r) => ({ ...r, audience: "https://sts.googleapis.com" }),
    field: "audience",
  },
  { name: "nonces not an array", mutate: (r) => ({ ...r, nonces: "0123456789" }), field: "nonces" },
  {
    name: "7 nonces",
    mutate: (r) => ({ ...r, nonces: Array.from({ length: 7 }, (_, i) => `nonce-${i}-pad`) }),
    field: "nonces",
  },
  { name: "nonce of 9 bytes", mutate: (r) => ({ ...r, nonces: ["0123456789", "012345678"] }), field: "nonces[1]" },
  { name: "nonce of 75 bytes", mutate: (r) => ({ ...r, nonces: ["a".repeat(75)] }), field: "nonces[0]" },
  // 25 three-byte characters: 25 characters but 75 UTF-8 bytes.
  {
    name: "nonce of 75 UTF-8 bytes in fewer characters",
    mutate: (r) => ({ ...r, nonces: ["€".repeat(25)] }),
    field: "nonces[0]",
  },
  { name: "nonce not a string", mutate: (r) => ({ ...r, nonces: ["0123456789", 1234567890] }), field: "nonces[1]" },
  { name: "unknown token type", mutate: (r) => ({ ...r, tokenType: "JWT" }), field: "tokenType" },
  { name: "token type in lower case", mutate: (r) => ({ ...r, tokenType: "oidc" }), field: "tokenType" },
  { name: "key IDs with an OIDC token", mutate: (r) => ({ ...r, tokenType: "OIDC" }), field: "awsPrincipalTagKeyIds" },
  { name: "key IDs with a PKI token", mutate: (r) => ({ ...r, tokenType: "PKI" }), field: "awsPrincipalTagKeyIds" },
  // The launcher forwards aws_principal_tag_options only for AWS_PRINCIPALTAGS.
  {
    name: "key IDs with a LIMITED_AWS token",
    mutate: (r) => ({ ...r, tokenType: "LIMITED_AWS" }),
    field: "awsPrincipalTagKeyIds",
  },
  {
    name: "key IDs not an array",
    mutate: (r) => ({ ...r, awsPrincipalTagKeyIds: "k" }),
    field: "awsPrincipalTagKeyIds",
  },
  { name: "empty key ID", mutate: (r) => ({ ...r, awsPrincipalTagKeyIds: [""] }), field: "awsPrincipalTagKeyIds[0]" },
];
