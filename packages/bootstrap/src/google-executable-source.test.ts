import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  EXECUTABLE_TOKEN_TYPE,
  googleExecutableResponse,
  writeExecutableOutputFile,
} from "./google-executable-source.js";

const jwt = (claims: object) =>
  [{ alg: "RS256", typ: "JWT" }, claims].map((p) => Buffer.from(JSON.stringify(p)).toString("base64url")).join(".") +
  ".c2ln";

describe("googleExecutableResponse", () => {
  it("reports the token's exp less the skew, in seconds", async () => {
    const token = jwt({ exp: 2_000_000_000, iat: 1_999_996_400, aud: "https://sts.googleapis.com" });
    const response = await googleExecutableResponse({
      tokenSource: { getToken: async () => token },
      expirySkewSeconds: 30,
    });
    expect(response).toEqual({
      version: 1,
      success: true,
      token_type: EXECUTABLE_TOKEN_TYPE,
      id_token: token,
      expiration_time: 1_999_999_970,
    });
    expect(EXECUTABLE_TOKEN_TYPE).toBe("urn:ietf:params:oauth:token-type:id_token");
  });

  it("writes the output file atomically with mode 0600, replacing an older response", async () => {
    const dir = await mkdtemp(join(tmpdir(), "confspace-bootstrap-output-"));
    try {
      const file = join(dir, "out.json");
      await writeFile(file, "old", { mode: 0o644 });
      const response = {
        version: 1,
        success: true,
        token_type: EXECUTABLE_TOKEN_TYPE,
        id_token: "t",
        expiration_time: 1,
      } as const;
      await writeExecutableOutputFile(file, response);
      expect(JSON.parse(await readFile(file, "utf8"))).toEqual(response);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
