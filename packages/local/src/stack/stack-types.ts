import type { Logger } from "@confspace/core";
import type { Emulator, EmulatorOptions } from "@confspace/emulator";
import type { BrokerConfig } from "@confspace/token-broker";
import type { LocalS3 } from "../aws/s3.js";
import type { LocalAwsRole, LocalAwsSts } from "../aws/sts.js";
import type { LocalIamCredentials } from "../google/iam-credentials.js";
import type { LocalKms, LocalKmsKey } from "../google/kms.js";
import type { LocalStaticAccessToken } from "../google/principals.js";
import type { LocalGoogleSts, LocalWifProvider } from "../google/sts.js";
import type { LocalAzurite } from "../microsoft/azurite.js";
import type { LocalEntra, LocalEntraClient } from "../microsoft/entra.js";
import type { OpenBao } from "../openbao/openbao.js";
import type { TestPki } from "../tls.js";
import type { LocalService } from "./services.js";

/** Options of {@link startLocalStack}. Unknown fields are refused. */
export interface LocalStackOptions {
  /** What to start besides the emulator and the throwaway CA (always started). At least one. */
  services: readonly LocalService[];
  /** Where each step is printed. Default `console.log`. Never receives a secret or a token. */
  log?: (line: string) => void;
  /** Passed to `startEmulator` (profile, token lifetime, …). Default: the emulator's defaults. */
  emulator?: EmulatorOptions;
  /** The token broker (started for `azure` and `aws`); `false` starts none (for tests that build their own). */
  broker?:
    | false
    | {
        /** `attestation.audience`. Default `https://broker.confspace.local`. */
        audience?: string;
        /** Edits the generated configuration before the broker starts (limits, mTLS, …). */
        editConfig?: (config: BrokerConfig, context: { pki: TestPki }) => void;
        /** Also receives every broker log record (after the broker's redaction). Default: none. */
        logger?: Logger;
      };
  azure?: {
    /** The local Entra app's client secret. Default: random. Stays in this process. */
    clientSecret?: string;
    /** Scopes the broker grants the emulator's image. Default `["https://storage.azure.com/.default"]`. */
    scopes?: string[];
    /** Entra access token lifetime, seconds. Default 3600. */
    tokenLifetimeSeconds?: number;
    /** Sends `refresh_in` (seconds) with each Entra token. Default: not sent. */
    refreshInSeconds?: number;
    /** More app registrations in the local tenant (e.g. a certificate app using `pki.clientCertPem`). */
    clients?: (context: { pki: TestPki }) => LocalEntraClient[];
    /** Also start Azurite (HTTPS, OAuth) when the optional peer `azurite` is installed. Default `true`. */
    storage?: boolean;
  };
  aws?: {
    /** Shortest session the local STS allows, seconds. Default 900 (AWS's minimum); less makes expiry visible. */
    minDurationSeconds?: number;
    /**
     * More IAM roles for the local STS, built once the emulator's issuer is known (e.g. roles with
     * other trust policies or session limits). Every role returned may also use the bucket.
     */
    roles?: (context: LocalAwsRoleContext) => LocalAwsRole[];
    /** The broker's IAM user's access key. Default: random. Stays in this process. */
    brokerCredentials?: { accessKeyId: string; secretAccessKey: string };
  };
  gcp?: {
    /** Workload identity providers; `issuer` defaults to the emulator's. Default: one (see README). */
    providers?: Array<Omit<LocalWifProvider, "issuer"> & { issuer?: string }>;
    /**
     * KMS keys, or a function of the emulator's image digest returning them (to bind that image).
     * Default: one key the emulator's image may decrypt with and the developer may encrypt with.
     */
    keys?: LocalKmsKey[] | ((context: { imageDigest: string }) => LocalKmsKey[]);
    /** Federated access token lifetime of the local STS, seconds. Default: the local STS's (3600). */
    tokenLifetimeSeconds?: number;
    /** Fixed bearer tokens for other members (e.g. key owners). Default: the developer's. */
    staticTokens?: LocalStaticAccessToken[];
  };
  vault?: {
    /** Create the `confspace-local` JWT role and its KV policy. Default `true`; `false` leaves only `auth/jwt` configured. */
    role?: boolean;
  };
}

/** What {@link LocalStackOptions}`.aws.roles` is given to build extra roles with. */
export interface LocalAwsRoleContext {
  /** The local AWS account id (`123456789012`). */
  account: string;
  /** The emulator's issuer as an IAM OIDC provider name (its URL without the scheme), for condition keys. */
  provider: string;
  /** The emulator's image digest. */
  imageDigest: string;
  /** The audience the emulator's OIDC provider lists (its client ID). */
  webIdentityAudience: string;
  /** The IAM user the broker signs `AssumeRole` as. */
  brokerUserArn: string;
}

/** What {@link startLocalStack} started. Fields of services that were not asked for are `undefined`. */
export interface LocalStack extends AsyncDisposable {
  readonly services: readonly LocalService[];
  /** The throwaway CA and the `localhost`/`127.0.0.1` server certificate every TLS server here uses. */
  readonly pki: TestPki;
  /** Path of the CA certificate (for `NODE_EXTRA_CA_CERTS` in another process). */
  readonly caPath: string;
  readonly emulator: Emulator;
  /** The image digest the emulator's tokens carry, which every policy here approves. */
  readonly imageDigest: string;
  /** Started for `azure` and `aws`. */
  readonly broker: LocalBrokerInfo | undefined;
  readonly azure:
    | { entra: LocalEntra; tenantId: string; clientId: string; scopes: string[]; azurite: LocalAzurite | undefined }
    | undefined;
  readonly aws:
    | {
        sts: LocalAwsSts;
        s3: LocalS3;
        region: string;
        bucket: string;
        /** The role the broker assumes for the emulator's image. */
        brokerRoleArn: string;
        /** The role the workload assumes by web identity with `webIdentityAudience` tokens. */
        webIdentityRoleArn: string;
        webIdentityAudience: string;
      }
    | undefined;
  readonly gcp:
    | {
        sts: LocalGoogleSts;
        iamCredentials: LocalIamCredentials;
        kms: LocalKms;
        /** The default provider's audience (`//iam.googleapis.com/…`). */
        audience: string;
        keyName: string;
        serviceAccount: string;
        /** The static bearer token of `user:developer@confspace.local` (encrypter of the default key). */
        developerToken: string;
      }
    | undefined;
  readonly vault: { bao: OpenBao; address: string; role: string; audience: string } | undefined;
  /** The environment for the app: `CONFSPACE_*`, endpoints, the CA file. No secret in it. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops everything in reverse order and removes the temporary files. Idempotent. */
  stop(): Promise<void>;
}

/** The broker of a {@link LocalStack}. */
export interface LocalBrokerInfo {
  /** `https://localhost:PORT`. */
  url: string;
  audience: string;
  /** Token requests answered so far, optionally only those with this outcome (`ok`, `invalid_token`, …). */
  requests(outcome?: string): number;
}
