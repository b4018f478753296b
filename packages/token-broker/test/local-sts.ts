// A tiny AWS STS query-API double for the broker's AWS path: AssumeRole only, answered in
// STS's XML. Stand-in until packages/testing ships the shared local STS.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One AssumeRole call as received. Never holds the caller's secret. */
export interface StsCall {
  action: string | null;
  roleArn: string | null;
  sessionName: string | null;
  durationSeconds: number | undefined;
  tags: Array<{ Key: string; Value: string }>;
  /** Access key id from the SigV4 Authorization header. */
  accessKeyId: string | undefined;
}

export interface LocalSts {
  endpoint: string;
  region: string;
  calls: StsCall[];
  /** Credentials issued, newest last (to check the broker hands out what STS issued). */
  issued: Array<{ accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string }>;
  /** Answers the next call with this STS error (status, code, message). */
  failNext(status: number, code: string, message: string): void;
  /** Holds the next reply back this long, ms. */
  delayNext(ms: number): void;
  stop(): Promise<void>;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export async function startTinySts(options: { accessKeyId: string; region?: string }): Promise<LocalSts> {
  const calls: StsCall[] = [];
  const issued: LocalSts["issued"] = [];
  const failures: Array<{ status: number; code: string; message: string }> = [];
  const delays: number[] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    const form = new URLSearchParams(body);
    const auth = req.headers.authorization ?? "";
    const accessKeyId = /Credential=([^/]+)\//.exec(auth)?.[1];
    const tags: StsCall["tags"] = [];
    for (let i = 1; form.has(`Tags.member.${i}.Key`); i++) {
      tags.push({ Key: form.get(`Tags.member.${i}.Key`)!, Value: form.get(`Tags.member.${i}.Value`) ?? "" });
    }
    const duration = form.get("DurationSeconds");
    calls.push({
      action: form.get("Action"),
      roleArn: form.get("RoleArn"),
      sessionName: form.get("RoleSessionName"),
      durationSeconds: duration === null ? undefined : Number(duration),
      tags,
      accessKeyId,
    });
    const delay = delays.shift();
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const failure = failures.shift();
    const error = (status: number, code: string, message: string) => {
      res.writeHead(status, { "content-type": "text/xml" });
      res.end(
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
    };
    if (failure) return error(failure.status, failure.code, failure.message);
    if (!auth.startsWith("AWS4-HMAC-SHA256 ") || accessKeyId !== options.accessKeyId) {
      return error(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
    }
    if (form.get("Action") !== "AssumeRole") return error(400, "InvalidAction", "unsupported action");
    const seconds = duration === null ? 3600 : Number(duration);
    const credentials = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(48).toString("base64")}`,
      expiration: new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    issued.push(credentials);
    res.writeHead(200, { "content-type": "text/xml" });
    res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xmlEscape(credentials.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xmlEscape(credentials.sessionToken)}</SessionToken>
      <Expiration>${credentials.expiration}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:${xmlEscape(form.get("RoleSessionName") ?? "")}</AssumedRoleId>
      <Arn>${xmlEscape(form.get("RoleArn") ?? "")}</Arn>
    </AssumedRoleUser>
    <PackedPolicySize>${tags.length > 0 ? 6 : 0}</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>
</AssumeRoleResponse>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: options.region ?? "us-east-1",
    calls,
    issued,
    failNext(status, code, message) {
      failures.push({ status, code, message });
    },
    delayNext(ms) {
      delays.push(ms);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}
