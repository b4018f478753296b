// What one credential provider of `POST /v1/token` is, and what an extra service of the
// broker (its own listener, e.g. the key service) is. Every provider is one file beside
// its siblings (azure.ts, aws.ts, …), listed once in registry.ts; the request parser, the
// configuration reader, the grant index, the handler and the broker's lifecycle loop
// over the registry and know no provider by name.
import type { Clock, LogFields, Logger } from "@confspace/core";
import type { BrokerProvider, BrokerReply, BrokerRequestBody } from "@confspace/ekm-tls";
import type { BrokerConfig, GrantConfig, UpstreamsConfig } from "../config-types.js";
import type { ReplyError } from "../internal/reply-error.js";
import type { WorkloadIdentity } from "../internal/workload-identity.js";
import type { BrokerMetrics } from "../metrics.js";

/**
 * A provider's fields of a request body, as they arrive: only the names the protocol
 * defines for it (`BROKER_REQUEST_FIELDS`, checked before the reader runs), any type.
 */
export type RequestFields<P extends BrokerProvider> = {
  readonly [K in Exclude<keyof Extract<BrokerRequestBody, { provider: P }>, "provider">]?: unknown;
};

/** What providers and services get when the broker is created: the validated configuration and shared parts. */
export interface BrokerSetup {
  /** The validated configuration (every section read). */
  config: BrokerConfig;
  /** Where `…Env` variables are read. */
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  metrics: BrokerMetrics;
  /** Already redacting. */
  logger: Logger;
  /** Whether a logger was given (skip work only logs need otherwise). */
  logging: boolean;
  /** Time allowed for one upstream call, ms (`limits.upstreamTimeoutSeconds`). */
  upstreamTimeoutMs: number;
}

/** A top-level section of the broker configuration, read and checked by its owner. */
export interface ConfigSection<K extends keyof BrokerConfig = keyof BrokerConfig> {
  /** The key, e.g. `certificates`. */
  readonly key: K;
  /**
   * Reads the section (present in the document) into a clean copy.
   *
   * @throws {BrokerConfigError} naming the first bad field by its path (`fail(path, …)`).
   */
  read(value: unknown, path: string): NonNullable<BrokerConfig[K]>;
}

/** An entry of `upstreams`, read by the provider that calls that upstream. */
export interface UpstreamSection<K extends keyof UpstreamsConfig = keyof UpstreamsConfig> {
  /** The key under `upstreams`, e.g. `azure`. */
  readonly key: K;
  read(value: unknown, path: string): NonNullable<UpstreamsConfig[K]>;
}

/** What a grant's section of a provider gives, and how a request finds it. */
export interface GrantSection<K extends keyof GrantConfig, Request, Compiled, Value> {
  /** The key in a grant, e.g. `azure` for `grants[].azure`. */
  readonly key: K;
  /**
   * Reads the section of one grant. `config` holds the sections read before the grants
   * (`upstreams` and every top-level section), for references such as a tenant name.
   */
  read(value: unknown, path: string, config: Readonly<Partial<BrokerConfig>>): NonNullable<GrantConfig[K]>;
  /** Prepares a read section for lookups (maps, defaults), once at start. */
  compile(section: NonNullable<GrantConfig[K]>): Compiled;
  /** What this grant gives `request`, or `undefined` when it gives nothing for it. */
  select(compiled: Compiled, request: Request): Value | undefined;
  /** Ends "no grant matching this workload gives …" (`this scope`, `this role`). */
  readonly deniedWhat: string;
}

/** What one `issue` call gets: the checked request, the verified workload and the grant chosen. */
export interface IssueContext<Request, Value> {
  request: Request;
  /** The verified claims of the attestation token. */
  claims: Record<string, unknown>;
  identity: WorkloadIdentity;
  /** The first grant (configuration order) that matches the workload and gives this request. */
  grant: { name: string; value: Value };
  /** The request's log line: add fields (never a secret). */
  fields: LogFields;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

/** A configured provider, live while the broker is. */
export interface ProviderRuntime<P extends BrokerProvider, Request, Value> {
  /**
   * Issues the credential.
   *
   * @throws {UpstreamUnavailableError} the upstream failed (503 with `Retry-After`).
   * @throws {ReplyError} a refusal written by the provider.
   */
  issue(context: IssueContext<Request, Value>): Promise<BrokerReply<P>>;
  /** Checks the files it reads at `listen()`, so a typo fails fast. @throws {BrokerConfigError} naming the field. */
  checkFiles?(): Promise<void>;
  /** Cancels work in flight and releases clients; called once at close. */
  dispose?(): void | Promise<void>;
}

/**
 * One `provider` of `POST /v1/token`. `P` names it in the protocol (`@confspace/ekm-tls`
 * protocol.ts defines its body and reply); `Request` is its parsed request, `Compiled` a
 * grant's prepared section, `Value` what a grant gives one request.
 */
export interface Provider<P extends BrokerProvider, Request, Compiled, Value> {
  readonly name: P;
  /**
   * Reads the provider's fields of a body (unknown fields were refused already).
   *
   * @throws {InvalidBrokerRequestError} a field is missing, mistyped or out of range (the message names the field, never its value).
   */
  readRequest(fields: RequestFields<P>): Request;
  /** Fields for the request's log line once it is parsed (never a secret), e.g. the scope. Default: none. */
  logFields?(request: Request): LogFields;
  /** Its entry of `upstreams`, if it has one. */
  readonly upstream?: UpstreamSection;
  /** Its top-level configuration section, if it has one (e.g. `certificates`). */
  readonly section?: ConfigSection;
  /** Its section of a grant. */
  readonly grant: GrantSection<keyof GrantConfig, Request, Compiled, Value>;
  /**
   * Checks that need the whole validated configuration (after every section). Default: none.
   *
   * @throws {BrokerConfigError} naming the field.
   */
  check?(config: BrokerConfig): void;
  /**
   * Starts the provider for a configuration; `undefined` when it is not configured (no
   * grant can then give it). Synchronous: an unset environment variable fails
   * `createBroker`. Import heavy SDKs lazily here (`import()`), only when configured.
   *
   * @throws {BrokerConfigError} naming the field (an unset variable, an unreadable file).
   */
  start(setup: BrokerSetup): ProviderRuntime<P, Request, Value> | undefined;
  /**
   * Turns an error of this provider's `issue` into a reply (after the shared mapping of
   * `ReplyError`, `UpstreamUnavailableError`, …); `undefined` for errors it does not know.
   * May add fields to the log line.
   */
  toReply?(error: unknown, fields: LogFields): ReplyError | undefined;
}

/** Any provider, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds providers of different request types.
export type AnyProvider = Provider<BrokerProvider, any, any, any>;

/** Any started provider. */
// biome-ignore lint/suspicious/noExplicitAny: runtimes of different request types share one map.
export type AnyProviderRuntime = ProviderRuntime<BrokerProvider, any, any>;

/** Where a service of the broker listens. */
export interface ServiceAddress {
  /** e.g. `https://127.0.0.1:8200`. */
  url: string;
  host: string;
  port: number;
}

/** A started service: listens after the token listener, closes before the providers are disposed. */
export interface ServiceRuntime {
  /**
   * Reads its files and starts listening.
   *
   * @throws {BrokerConfigError} a configured file cannot be read.
   * @throws {ConfspaceError} `ERR_BROKER_LISTEN`: its address is in use or not available.
   */
  listen(): Promise<ServiceAddress | undefined>;
  /** Stops accepting, lets requests in flight finish until `deadlineMs`, then releases everything. Idempotent. */
  close(deadlineMs: number): Promise<void>;
}

/**
 * A part of the broker that is not a `/v1/token` provider: its own listener and
 * configuration section (e.g. the key service, `keyService`). Listed in registry.ts.
 */
export interface BrokerService {
  /** Names it in logs and in `Broker.serviceAddress(name)`. */
  readonly name: string;
  /** Its configuration section. */
  readonly section: ConfigSection;
  /** Checks that need the whole validated configuration. Default: none. @throws {BrokerConfigError} */
  check?(config: BrokerConfig): void;
  /** Builds the service for a configuration; `undefined` when its section is absent. Synchronous, like {@link Provider.start}. */
  start(setup: BrokerSetup): ServiceRuntime | undefined;
}

/** Declares a provider with its types inferred (and checked against the configuration types). */
export function defineProvider<P extends BrokerProvider, Request, Compiled, Value, K extends keyof GrantConfig>(
  provider: Omit<Provider<P, Request, Compiled, Value>, "grant"> & {
    readonly grant: GrantSection<K, Request, Compiled, Value>;
  },
): Provider<P, Request, Compiled, Value> {
  return provider as Provider<P, Request, Compiled, Value>;
}
