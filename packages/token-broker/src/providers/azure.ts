// provider "azure": Microsoft Entra access tokens (client credentials) for a scope a grant lists.
import type { AzureGrant, AzureTenantConfig } from "../config-types.js";
import { AzureUpstream, refreshInSeconds } from "../internal/azure-upstream.js";
import {
  child,
  compact,
  fail,
  list,
  object,
  optionalBoolean,
  optionalString,
  record,
  string,
  stringList,
} from "../internal/config-reader.js";
import { ENV_NAME, HTTPS_URL, NAME, SECRET_HINTS } from "../internal/config-rules.js";
import { InvalidBrokerRequestError, requiredString } from "../internal/token-request.js";
import { defineProvider } from "./provider.js";

/** `POST /v1/token` asking for an Azure access token. */
export interface AzureTokenRequest {
  /** One scope, `{resource}/.default`. */
  scope: string;
}

const SCOPE = {
  pattern: /^[\x21-\x7e]+\/\.default$/,
  patternMessage: 'must be "{resource}/.default", the form the client-credentials grant accepts',
  maxLength: 1024,
};

/** Azure scopes and the tenant that issues them: `provider: "azure"`, `upstreams.azure`, `grants[].azure`. */
export const azureProvider = defineProvider({
  name: "azure",

  readRequest(fields): AzureTokenRequest {
    const scope = requiredString(fields, "scope", 1024);
    if (/\s/.test(scope)) throw new InvalidBrokerRequestError('"scope" must be a single scope');
    return { scope };
  },

  logFields: (request) => ({ scope: request.scope }),

  upstream: {
    key: "azure",
    read(value, path) {
      const tenants = record(value, path);
      if (Object.keys(tenants).length === 0) fail(path, "must name at least one tenant (or be omitted)");
      // fromEntries defines own properties: a tenant named "__proto__" cannot reach the prototype.
      return Object.fromEntries(
        Object.entries(tenants).map(([name, tenant]) => {
          const tenantPath = child(path, name);
          string(name, tenantPath, NAME);
          return [name, readTenant(tenant, tenantPath)];
        }),
      );
    },
  },

  grant: {
    key: "azure",
    read(value, path, config) {
      const entries = list(value, path, readGrantEntry);
      entries.forEach((entry, index) => {
        const tenants = config.upstreams?.azure;
        if (tenants === undefined || !Object.hasOwn(tenants, entry.tenant)) {
          fail(`${path}[${index}].tenant`, "names no tenant of upstreams.azure");
        }
      });
      return entries;
    },
    /** Scope → tenant name, first listing wins. */
    compile(entries: AzureGrant[]): ReadonlyMap<string, string> {
      const scopes = new Map<string, string>();
      for (const entry of entries) {
        for (const scope of entry.scopes) if (!scopes.has(scope)) scopes.set(scope, entry.tenant);
      }
      return scopes;
    },
    select: (scopes, request) => scopes.get(request.scope),
    deniedWhat: "this scope",
  },

  start(setup) {
    const tenants = setup.config.upstreams?.azure;
    if (tenants === undefined) return undefined;
    const upstream = new AzureUpstream({
      tenants,
      env: setup.env,
      clock: setup.clock,
      metrics: setup.metrics,
      timeoutMs: setup.upstreamTimeoutMs,
    });
    return {
      async issue({ request, grant, signal }) {
        const token = await upstream.getToken(grant.value, request.scope, signal);
        return {
          access_token: token.token,
          token_type: "Bearer",
          expires_on: Math.floor(token.expiresOnTimestamp / 1000),
          refresh_in: refreshInSeconds(token, setup.clock.now()),
        };
      },
      checkFiles: () => upstream.checkFiles(),
      dispose: () => upstream.dispose(),
    };
  },
});

function readTenant(value: unknown, path: string): AzureTenantConfig {
  const o = object(
    value,
    path,
    [
      "tenantId",
      "clientId",
      "clientSecretEnv",
      "clientCertificateFile",
      "sendCertificateChain",
      "authorityHost",
      "caFile",
    ],
    SECRET_HINTS,
  );
  const tenant = compact({
    tenantId: string(o.tenantId, `${path}.tenantId`, {
      pattern: /^[A-Za-z0-9.-]{1,256}$/,
      patternMessage: "must be a tenant GUID or domain",
    }),
    clientId: string(o.clientId, `${path}.clientId`, {
      pattern: /^[A-Za-z0-9-]{1,128}$/,
      patternMessage: "must be an application (client) id",
    }),
    clientSecretEnv: optionalString(o.clientSecretEnv, `${path}.clientSecretEnv`, ENV_NAME),
    clientCertificateFile: optionalString(o.clientCertificateFile, `${path}.clientCertificateFile`),
    sendCertificateChain: optionalBoolean(o.sendCertificateChain, `${path}.sendCertificateChain`),
    authorityHost: optionalString(o.authorityHost, `${path}.authorityHost`, HTTPS_URL),
    caFile: optionalString(o.caFile, `${path}.caFile`),
  });
  if ((tenant.clientSecretEnv === undefined) === (tenant.clientCertificateFile === undefined)) {
    fail(path, "needs exactly one of clientSecretEnv and clientCertificateFile");
  }
  if (tenant.sendCertificateChain !== undefined && tenant.clientCertificateFile === undefined) {
    fail(`${path}.sendCertificateChain`, "needs clientCertificateFile");
  }
  return tenant;
}

function readGrantEntry(value: unknown, path: string): AzureGrant {
  const o = object(value, path, ["tenant", "scopes"]);
  return {
    tenant: string(o.tenant, `${path}.tenant`, NAME),
    scopes: stringList(o.scopes, `${path}.scopes`, SCOPE),
  };
}
