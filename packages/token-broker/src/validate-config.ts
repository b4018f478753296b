import type { BrokerConfig, GrantConfig } from "./config-types.js";
import { readGrantMatch } from "./internal/claim-rules.js";
import { compact, fail, list, object, string } from "./internal/config-reader.js";
import { NAME } from "./internal/config-rules.js";
import { readAttestation, readLimits, readListen, readMetrics, readTls } from "./internal/core-config.js";
import type { AnyProvider, BrokerService, ConfigSection, UpstreamSection } from "./providers/provider.js";
import { PROVIDERS, SERVICES } from "./providers/registry.js";

const CORE_SECTIONS = ["listen", "tls", "attestation", "upstreams", "grants", "limits", "metrics"];

/**
 * Checks a broker configuration (parsed YAML/JSON or an object built in code) and returns
 * a clean copy. Unknown fields are errors, so a typo never silently drops a rule.
 *
 * Checked here: types, formats (image digests, role ARNs, scopes, URLs, environment
 * variable names, session tag keys), that every grant's tenant exists and AWS grants have
 * `upstreams.aws`. Not checked here: that files and environment variables exist — that
 * happens when the broker starts.
 *
 * @throws {BrokerConfigError} naming the first bad field, e.g. `grants[1].azure[0].scopes`.
 */
export function validateBrokerConfig(value: unknown): BrokerConfig {
  return readBrokerConfig(value, PROVIDERS, SERVICES);
}

/** {@link validateBrokerConfig} for a given set of providers and services. */
export function readBrokerConfig(
  value: unknown,
  providers: readonly AnyProvider[],
  services: readonly BrokerService[],
): BrokerConfig {
  const sections: ConfigSection[] = [
    ...providers.flatMap((p) => (p.section === undefined ? [] : [p.section])),
    ...services.map((s) => s.section),
  ];
  const upstreamSections: UpstreamSection[] = providers.flatMap((p) => (p.upstream === undefined ? [] : [p.upstream]));
  const root = object(value, "", [...CORE_SECTIONS, ...sections.map((s) => s.key)]);

  // Upstreams and the providers' and services' sections first: grants refer to them.
  const before: Record<string, unknown> = {};
  if (root.upstreams !== undefined) {
    const o = object(
      root.upstreams,
      "upstreams",
      upstreamSections.map((u) => u.key),
    );
    const upstreams: Record<string, unknown> = {};
    for (const section of upstreamSections) {
      if (o[section.key] !== undefined)
        upstreams[section.key] = section.read(o[section.key], `upstreams.${section.key}`);
    }
    before.upstreams = upstreams;
  }
  for (const section of sections) {
    if (root[section.key] !== undefined) before[section.key] = section.read(root[section.key], section.key);
  }

  const grants = list(root.grants, "grants", (item, path) =>
    readGrant(item, path, providers, before as Partial<BrokerConfig>),
  );
  const names = new Set<string>();
  grants.forEach((grant, index) => {
    if (names.has(grant.name)) fail(`grants[${index}].name`, "is used by an earlier grant; names must be unique");
    names.add(grant.name);
  });
  const config = compact({
    ...before,
    listen: root.listen === undefined ? undefined : readListen(root.listen, "listen"),
    tls: readTls(root.tls, "tls"),
    attestation: readAttestation(root.attestation, "attestation"),
    grants,
    limits: root.limits === undefined ? undefined : readLimits(root.limits, "limits"),
    metrics: readMetrics(root.metrics, "metrics"),
  }) as BrokerConfig;
  config.grants.forEach((grant, index) => {
    // The broker accepts one audience; a grant naming another could never match.
    if (grant.match.audience !== undefined && grant.match.audience !== config.attestation.audience) {
      fail(`grants[${index}].match.audience`, "must equal attestation.audience, the one audience the broker accepts");
    }
  });
  for (const part of [...providers, ...services]) part.check?.(config);
  return config;
}

function readGrant(
  value: unknown,
  path: string,
  providers: readonly AnyProvider[],
  config: Readonly<Partial<BrokerConfig>>,
): GrantConfig {
  const keys = providers.map((p) => p.grant.key);
  const o = object(value, path, ["name", "match", ...keys]);
  const name = string(o.name, `${path}.name`, NAME);
  if (o.match === undefined) fail(`${path}.match`, "is required (which workloads this grant is for)");
  const match = readGrantMatch(o.match, `${path}.match`);
  if (keys.every((key) => o[key] === undefined)) fail(path, `must give something: ${keys.join(", ")}`);
  const grant: Record<string, unknown> = { name, match };
  for (const provider of providers) {
    const key = provider.grant.key;
    if (o[key] !== undefined) grant[key] = provider.grant.read(o[key], `${path}.${key}`, config);
  }
  return grant as unknown as GrantConfig;
}
