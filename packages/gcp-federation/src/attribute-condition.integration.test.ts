import { type Emulator, startEmulator } from "@confspace/emulator";
import { type LocalGoogleSts, startLocalGoogleSts } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcpFederationError } from "./errors.js";
import { createFederatedAuthClient } from "./federated-auth-client.js";

// The provider from the community Confidential Space multi-party tutorial, verbatim but for
// the shell variable it expects (the operator's project ID), and the forms Google
// documents today. `swversion` has been an array of strings since March 2023; the
// tutorial's `int(assertion.swversion) >= 1` dates from when it was the number 1 (production)
// or 0 (debug).
const OPERATOR_PROJECT_ID = "confspace-emulator";
const TUTORIAL_MAPPING =
  "google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference";
const TUTORIAL_CONDITION =
  "assertion.swname=='CONFIDENTIAL_SPACE' && int(assertion.swversion) >= 1 && assertion.submods.gce.project_id=='$OPERATOR_PROJECT_ID' && 'operator-svc-account@$OPERATOR_PROJECT_ID.iam.gserviceaccount.com' in assertion.google_service_accounts".replaceAll(
    "$OPERATOR_PROJECT_ID",
    OPERATOR_PROJECT_ID,
  );
/** The swversion clause in the form Google's assertion reference shows (`int(assertion.swversion[0]) == 230103`). */
const SWVERSION_INDEXED = TUTORIAL_CONDITION.replace(
  "int(assertion.swversion) >= 1",
  "int(assertion.swversion[0]) >= 1",
);
/** What Google recommends instead: support attributes (debug images have none). */
const SUPPORTED = TUTORIAL_CONDITION.replace(
  "int(assertion.swversion) >= 1",
  "'STABLE' in assertion.submods.confidential_space.support_attributes",
);
const PRODUCTION_ONLY = `${SWVERSION_INDEXED} && assertion.dbgstat == 'disabled-since-boot'`;
/** Google's own codelab writes the mapping with quotes: every token maps to the literal subject "assertion.sub". */
const CODELAB_MAPPING = "google.subject='assertion.sub'";
const IMAGE = "us-docker.pkg.dev/confspace-emulator/workloads/app:latest";
const CODELAB_CONDITION = `assertion.swname == 'CONFIDENTIAL_SPACE' &&
    'STABLE' in assertion.submods.confidential_space.support_attributes &&
    assertion.submods.container.image_reference ==
    '${IMAGE}'
    && 'operator-svc-account@${OPERATOR_PROJECT_ID}.iam.gserviceaccount.com' in
    assertion.google_service_accounts`;

const PROVIDERS = {
  tutorial: [TUTORIAL_MAPPING, TUTORIAL_CONDITION],
  indexed: [TUTORIAL_MAPPING, SWVERSION_INDEXED],
  supported: [TUTORIAL_MAPPING, SUPPORTED],
  production: [TUTORIAL_MAPPING, PRODUCTION_ONLY],
  codelab: [CODELAB_MAPPING, CODELAB_CONDITION],
} as const;
type ProviderName = keyof typeof PROVIDERS;
const audience = (name: ProviderName) =>
  `//iam.googleapis.com/projects/333333333333/locations/global/workloadIdentityPools/conditions/providers/${name}`;

type Claims = Record<string, unknown> & {
  submods: {
    confidential_space: Record<string, unknown>;
    container: Record<string, unknown>;
    gce: Record<string, unknown>;
  };
};
const debugImage = (claims: Claims) => {
  claims.dbgstat = "enabled";
  delete claims.submods.confidential_space.support_attributes;
};
const supportOnly = (attributes: string[]) => (claims: Claims) => {
  claims.submods.confidential_space.support_attributes = attributes;
};

let emulator: Emulator;
let sts: LocalGoogleSts;

beforeAll(async () => {
  emulator = await startEmulator({
    writeTokenFile: false,
    profile: { google_service_accounts: [`operator-svc-account@${OPERATOR_PROJECT_ID}.iam.gserviceaccount.com`] },
  });
  sts = await startLocalGoogleSts({
    providers: Object.entries(PROVIDERS).map(([name, [attributeMapping, attributeCondition]]) => ({
      audience: audience(name as ProviderName),
      // As the tutorial: issuer URI with a trailing slash, the default token's audience.
      issuer: `${emulator.issuer}/`,
      allowedAudiences: ["https://sts.googleapis.com"],
      attributeMapping,
      attributeCondition,
    })),
  });
});

afterAll(async () => {
  await sts?.close();
  await emulator?.stop();
});

const rows: Array<[string, ProviderName, ((claims: Claims) => void) | undefined, boolean]> = [
  [
    "the tutorial as written rejects today's default token (int() of the swversion array is a CEL error)",
    "tutorial",
    undefined,
    false,
  ],
  [
    "the tutorial as written accepted the pre-2023 numeric swversion",
    "tutorial",
    (c) => {
      c.swversion = 1;
    },
    true,
  ],
  [
    "the tutorial as written rejected the pre-2023 debug swversion 0",
    "tutorial",
    (c) => {
      c.swversion = 0;
    },
    false,
  ],
  ["int(assertion.swversion[0]) >= 1 accepts the default token", "indexed", undefined, true],
  [
    "int(assertion.swversion[0]) >= 1 also accepts a debug image: swversion no longer tells them apart",
    "indexed",
    debugImage,
    true,
  ],
  ["…adding dbgstat == 'disabled-since-boot' rejects the debug image", "production", debugImage, false],
  ["'STABLE' in support_attributes accepts the default token", "supported", undefined, true],
  [
    "'STABLE' in support_attributes rejects a debug image (no support attributes: a CEL error)",
    "supported",
    debugImage,
    false,
  ],
  [
    "'STABLE' in support_attributes rejects an out-of-support (USABLE only) image",
    "supported",
    supportOnly(["USABLE"]),
    false,
  ],
  ["'STABLE' in support_attributes rejects an EXPERIMENTAL image", "supported", supportOnly(["EXPERIMENTAL"]), false],
  [
    "the operator project clause rejects another project",
    "supported",
    (c) => {
      c.submods.gce.project_id = "elsewhere";
    },
    false,
  ],
  [
    "the service account clause rejects another service account",
    "supported",
    (c) => {
      c.google_service_accounts = ["x@elsewhere.iam.gserviceaccount.com"];
    },
    false,
  ],
  ["Google's codelab condition accepts the default token", "codelab", undefined, true],
  [
    "Google's codelab condition rejects another image",
    "codelab",
    (c) => {
      c.submods.container.image_reference = `${IMAGE}-evil`;
    },
    false,
  ],
];

describe("attribute conditions against emulator tokens, through the federated client", () => {
  it.each(rows)("%s", async (_name, provider, mutate, admitted) => {
    const token = await emulator.mintToken({
      mutateClaims: mutate as ((claims: Record<string, unknown>) => void) | undefined,
    });
    const client = createFederatedAuthClient({
      audience: audience(provider),
      tokenUrl: sts.tokenUrl,
      tokenSource: { getToken: async () => token },
    });
    const result = await client.getAccessToken().then(
      ({ token: accessToken }) => ({ accessToken }),
      (error: unknown) => ({ error }),
    );
    if (admitted) {
      expect(result).toMatchObject({ accessToken: expect.stringMatching(/^ya29\.local-/) });
    } else {
      expect("error" in result && result.error).toBeInstanceOf(GcpFederationError);
      expect(result).toMatchObject({
        error: {
          stage: "sts",
          status: 400,
          reason: "unauthorized_client",
          description: "The given credential is rejected by the attribute condition.",
        },
      });
    }
  });

  it("maps the tutorial's image_reference attribute and the codelab's literal subject", async () => {
    const token = await emulator.mintToken();
    const tutorial = await createFederatedAuthClient({
      audience: audience("supported"),
      tokenUrl: sts.tokenUrl,
      tokenSource: { getToken: async () => token },
    }).getAccessToken();
    expect(sts.issued.get(tutorial.token!)).toMatchObject({
      attributes: { image_reference: IMAGE },
      subject: expect.stringMatching(/^https:\/\/www\.googleapis\.com\/compute\/v1\/projects\//),
    });
    const codelab = await createFederatedAuthClient({
      audience: audience("codelab"),
      tokenUrl: sts.tokenUrl,
      tokenSource: { getToken: async () => token },
    }).getAccessToken();
    expect(sts.issued.get(codelab.token!)).toMatchObject({ subject: "assertion.sub", attributes: {} });
  });
});
