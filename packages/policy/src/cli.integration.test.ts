import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./internal/cli-commands.js";
import { renderAws, renderBroker, renderGcp, renderVault } from "./render/index.js";

const DIGEST = `sha256:${"e4".repeat(32)}`;
const AUDIENCE = "https://relying-party.example.com";
const claims = (digest: string) => ({
  iss: "https://confidentialcomputing.googleapis.com",
  aud: AUDIENCE,
  sub: "https://www.googleapis.com/compute/v1/projects/op-project/zones/z/instances/i",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  hwmodel: "GCP_AMD_SEV",
  secboot: true,
  dbgstat: "disabled-since-boot",
  google_service_accounts: ["operator@op-project.iam.gserviceaccount.com"],
  submods: {
    confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"] },
    container: { image_digest: digest, restart_policy: "Never" },
    gce: { project_id: "op-project", project_number: "1234", zone: "z", instance_name: "i" },
  },
  "https://aws.amazon.com/tags": {
    principal_tags: {
      hwmodel: ["GCP_AMD_SEV"],
      swname: ["CONFIDENTIAL_SPACE"],
      swversion: ["250301"],
      "confidential_space.support_attributes": ["LATEST=STABLE=USABLE"],
      "container.image_digest": [digest],
      "gce.project_id": ["op-project"],
      "gce.zone": ["z"],
    },
  },
});
/** A token-shaped string (explain reads claims only; the signature is not checked). */
const jwt = (payload: object) =>
  `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.c2ln`;
const OTHER = `sha256:${"cd".repeat(32)}`;
const POLICY = { imageDigests: [DIGEST], audience: AUDIENCE };

describe("confspace-policy", () => {
  let dir: string;
  const file = async (name: string, content: string) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    return { status, stdout: out.join(""), stderr: err.join("") };
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "confspace-policy-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const targets = {
    policy: () => JSON.stringify(POLICY),
    gcp: () => renderGcp(POLICY, { poolProjectNumber: "1", poolId: "pool", providerId: "prov" }).attributeCondition,
    "vault-role": () => JSON.stringify(renderVault(POLICY, { tokenPolicies: ["p"] }).role),
    aws: () => JSON.stringify(renderAws(POLICY, { accountId: "123456789012" }).trustPolicy),
    broker: () => renderBroker(POLICY, { grantName: "app" }).grantYaml,
  };
  it.each(Object.entries(targets))(
    "explain against a rendered %s: 0 for the image, 1 naming the digest clause and value for another",
    async (format, text) => {
      const against = await file(`${format}.txt`, text());
      const good = await run(["explain", "--token", await file("good.jwt", jwt(claims(DIGEST))), "--against", against]);
      expect(good.status, good.stdout + good.stderr).toBe(0);
      expect(good.stdout).toMatch(new RegExp(`^admitted by this ${format}`));
      const badToken = jwt(claims(OTHER));
      const bad = await run(["explain", "--token", await file("bad.jwt", badToken), "--against", against]);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(new RegExp(`^refused by this ${format}`));
      expect(bad.stdout).toMatch(/failed: .*image_digest/);
      expect(bad.stdout).toContain(OTHER);
      expect(bad.stdout).not.toContain(badToken.split(".")[1]);
    },
  );

  it("renders each target, and refuses what a target cannot express unless allowed", async () => {
    const policy = await file("policy.json", JSON.stringify({ ...POLICY, minSwVersion: 250000 }));
    expect((await run(["render", "--target", "broker", "--policy", policy, "--grant-name", "app"])).stdout).toContain(
      "minSwVersion: 250000",
    );
    const refused = await run(["render", "--target", "vault", "--policy", policy, "--token-policy", "p"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('allowUnenforced: ["minSwVersion"]');
    const allowed = await run([
      "render",
      "--target",
      "vault",
      "--policy",
      policy,
      "--token-policy",
      "p",
      "--allow-unenforced",
      "minSwVersion",
    ]);
    expect(allowed.status).toBe(0);
    expect(JSON.parse(allowed.stdout).role.role_type).toBe("jwt");
    expect(allowed.stderr).toContain("not enforced by this target: minSwVersion");
  });

  it("refuses an unknown option or policy key with status 2", async () => {
    expect((await run(["render", "--target", "gcp", "--bogus"])).status).toBe(2);
    const typo = await file("typo.json", JSON.stringify({ imageDigest: [DIGEST] }));
    const result = await run(["render", "--target", "broker", "--policy", typo, "--grant-name", "g"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("imageDigest");
  });

  it("runs as the README says, `npx confspace-policy`, from the checkout's source without a build", async () => {
    // --no: never download a package of that name; the checkout's own bin must answer.
    const { stdout } = await promisify(execFile)("npx", ["--no", "--", "confspace-policy", "--help"], {
      cwd: new URL("../../../examples/gcp-kms-multiparty", import.meta.url).pathname,
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(stdout).toMatch(/^Usage:\s+confspace-policy render /);
  });

  it("publishes dist/cli.js as the bin, not the checkout's tsx launcher", async () => {
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    expect(manifest.bin).toEqual({ "confspace-policy": "./bin/confspace-policy.js" });
    expect(manifest.publishConfig.bin).toEqual({ "confspace-policy": "./dist/cli.js" });
    expect(manifest.files).toEqual(["dist"]);
  });

  it("runs as the checkout's executable", async () => {
    const against = await file("cel.txt", targets.gcp());
    const token = await file("exec.jwt", jwt(claims(OTHER)));
    const bin = new URL("../bin/confspace-policy.js", import.meta.url).pathname;
    const failure = await promisify(execFile)(process.execPath, [
      bin,
      "explain",
      "--token",
      token,
      "--against",
      against,
    ]).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toContain("submods.container.image_digest");
  });
});
