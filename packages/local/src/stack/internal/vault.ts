import { type OpenBao, startOpenBao } from "../../openbao/openbao.js";

export const VAULT_ROLE = "confspace-local";
export const VAULT_AUDIENCE = "https://vault.confspace.local";

/** Real OpenBao (or Vault) with JWT auth trusting the emulator and, unless `role` is false, a role for its image. */
export async function startVaultService(
  input: { issuer: string; imageDigest: string; role: boolean },
  track: (close: () => Promise<void>) => void,
  log: (line: string) => void,
): Promise<{ bao: OpenBao; address: string; role: string; audience: string }> {
  const bao = await startOpenBao();
  track(() => bao.close());
  await bao.request({
    method: "POST",
    path: "auth/jwt/config",
    body: { oidc_discovery_url: input.issuer, bound_issuer: input.issuer },
  });
  if (input.role) {
    await bao.request({
      method: "PUT",
      path: `sys/policies/acl/${VAULT_ROLE}`,
      body: { policy: `path "secret/data/${VAULT_ROLE}/*" { capabilities = ["create", "read", "update"] }` },
    });
    await bao.request({
      method: "POST",
      path: `auth/jwt/role/${VAULT_ROLE}`,
      body: {
        role_type: "jwt",
        user_claim: "sub",
        bound_audiences: [VAULT_AUDIENCE],
        bound_claims: {
          swname: "CONFIDENTIAL_SPACE",
          "/submods/confidential_space/support_attributes": ["STABLE"],
          "/submods/container/image_digest": [input.imageDigest],
        },
        token_policies: [VAULT_ROLE],
        token_ttl: 900,
      },
    });
  }
  log(
    `OpenBao ${bao.version} at ${bao.address} (${bao.binary.from}); JWT auth trusts the emulator${input.role ? `, role ${VAULT_ROLE}` : ""}`,
  );
  return { bao, address: bao.address, role: VAULT_ROLE, audience: VAULT_AUDIENCE };
}
