// The token calls a Vault client makes: `renew-self` (OpenBao's transit seal, when a token
// is configured) and `lookup-self`. The client certificate is the credential; the answer
// describes it as a non-renewable token that lasts as long as the certificate.
import type { IncomingMessage } from "node:http";
import type { Clock } from "@confspace/core";
import type { PeerIdentity } from "./peer-identity.js";
import { allowOnly, type Body, vaultReply } from "./vault-reply.js";

/** Answers `auth/token/renew-self` or `auth/token/lookup-self` for the caller's certificate. */
export function answerTokenSelf(
  operation: "token_lookup_self" | "token_renew_self",
  identity: PeerIdentity,
  body: Body,
  req: IncomingMessage,
  clock: Clock,
) {
  const grant = identity.grant;
  if (operation === "token_renew_self") allowOnly(body, ["increment"]);
  else allowOnly(body, []);
  // The certificate is the credential: a token sent along is neither checked nor logged,
  // only handed back so the Vault client's token watcher has something to hold.
  const header = req.headers["x-vault-token"];
  const token = typeof header === "string" ? header : "";
  const ttl = Math.max(0, Math.floor((identity.expiresAt - clock.now()) / 1000));
  const policies = ["default"];
  const meta = { grant, ...(identity.workload === undefined ? {} : { workload: identity.workload }) };
  if (operation === "token_renew_self") {
    return {
      ...vaultReply(null),
      auth: {
        client_token: token,
        accessor: "",
        policies,
        token_policies: policies,
        metadata: meta,
        lease_duration: ttl,
        renewable: false,
        entity_id: "",
        token_type: "service",
        orphan: true,
      },
    };
  }
  return vaultReply({
    id: token,
    accessor: "",
    display_name: `cert-${grant}`,
    policies,
    meta,
    ttl,
    creation_ttl: ttl,
    expire_time: new Date(identity.expiresAt).toISOString(),
    explicit_max_ttl: 0,
    renewable: false,
    num_uses: 0,
    orphan: true,
    path: "auth/cert/login",
    type: "service",
    entity_id: "",
  });
}
