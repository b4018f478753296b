// Test-only: the two Vault/OpenBao endpoints the vault-kv scheme uses (JWT login, KV v2
// read), on 127.0.0.1, in the documented reply shapes, so the scheme is exercised through
// vault-jwt's real client until the OpenBao test helper is in the tree. It checks what a
// role would check (the JWT's aud) and the token on reads.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";

export interface KvServer {
  address: string;
  /** KV v2 data by `mount/path`; `null` for a deleted latest version. */
  secrets: Map<string, Record<string, unknown> | null>;
  logins: number;
  /** When set, logins are refused with Vault's 400 and this reason. */
  refuseLogin?: string;
  close(): Promise<void>;
}

export async function startKvServer(audience: string): Promise<KvServer> {
  const token = `hvs.${"t".repeat(24)}`;
  const state: KvServer = { address: "", secrets: new Map(), logins: 0, close: async () => {} };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c;
    });
    req.on("end", () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.method === "POST" && req.url === "/v1/auth/jwt/login") {
        const { jwt, role } = JSON.parse(body) as { jwt: string; role: string };
        if (state.refuseLogin) return send(400, { errors: [state.refuseLogin] });
        if (decodeJwt(jwt).aud !== audience || role !== "app")
          return send(400, { errors: ["error validating claims: audience"] });
        state.logins += 1;
        return send(200, {
          auth: {
            client_token: token,
            accessor: "a",
            policies: ["app"],
            token_policies: ["app"],
            lease_duration: 3600,
            renewable: true,
            token_type: "service",
            orphan: true,
          },
        });
      }
      const match = /^\/v1\/([^/]+)\/data\/(.+)$/.exec(req.url ?? "");
      if (req.method === "GET" && match) {
        if (req.headers["x-vault-token"] !== token) return send(403, { errors: ["permission denied"] });
        const key = `${match[1]}/${match[2]}`;
        if (!state.secrets.has(key)) return send(404, { errors: [] });
        const data = state.secrets.get(key) ?? null;
        const metadata = {
          version: 1,
          created_time: "2026-12-01T00:00:00Z",
          deletion_time: data === null ? "2026-12-02T00:00:00Z" : "",
          destroyed: false,
          custom_metadata: null,
        };
        return send(data === null ? 404 : 200, { data: { data, metadata } });
      }
      send(404, { errors: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  state.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}
