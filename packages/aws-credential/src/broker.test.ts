import { describe, expect, it } from "vitest";
import { type BrokerOptions, fromBroker } from "./broker.js";
import { AwsCredentialOptionError } from "./errors.js";

const valid: BrokerOptions = {
  brokerUrl: "https://broker.example:8443",
  audience: "https://broker.example",
  roleArn: "arn:aws:iam::123456789012:role/reader",
  env: {},
};

function thrown(options: BrokerOptions): unknown {
  try {
    fromBroker(options).dispose();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("fromBroker options", () => {
  it("accepts a valid set, and the environment in place of brokerUrl and audience", () => {
    expect(thrown(valid)).toBeUndefined();
    const fromEnv = { ...valid, brokerUrl: undefined, audience: undefined };
    expect(
      thrown({
        ...fromEnv,
        env: { CONFSPACE_BROKER_URL: "https://b.example", CONFSPACE_BROKER_AUDIENCE: "https://b.example" },
      }),
    ).toBeUndefined();
  });

  it("accepts a session name of 1 to 31 characters, what fits after {project number}-{instance id}.", () => {
    expect(thrown({ ...valid, sessionName: "a" })).toBeUndefined();
    expect(thrown({ ...valid, sessionName: "a".repeat(31) })).toBeUndefined();
    expect(`123456789012-4567890123456789012.${"a".repeat(31)}`).toHaveLength(64);
  });

  it.each<[string, Partial<Record<keyof BrokerOptions, unknown>>, string, string | undefined, RegExp]>([
    [
      "no broker URL anywhere",
      { brokerUrl: undefined },
      "brokerUrl",
      "CONFSPACE_BROKER_URL",
      /brokerUrl option or CONFSPACE_BROKER_URL/,
    ],
    ["an http broker URL", { brokerUrl: "http://broker.example" }, "brokerUrl", "CONFSPACE_BROKER_URL", /https/],
    ["a broker URL that is not a URL", { brokerUrl: "broker.example" }, "brokerUrl", "CONFSPACE_BROKER_URL", /https/],
    [
      "no audience anywhere",
      { audience: undefined },
      "audience",
      "CONFSPACE_BROKER_AUDIENCE",
      /audience option or CONFSPACE_BROKER_AUDIENCE/,
    ],
    ["no roleArn", { roleArn: undefined }, "roleArn", undefined, /role ARN/],
    ["a bad session name", { sessionName: "no spaces allowed" }, "sessionName", undefined, /1–31/],
    ["an empty session name", { sessionName: "" }, "sessionName", undefined, /1–31/],
    [
      "a session name that cannot fit after the verified name",
      { sessionName: "a".repeat(32) },
      "sessionName",
      undefined,
      /1–31/,
    ],
    ["a duration under AWS's 900 s", { durationSeconds: 899 }, "durationSeconds", undefined, /900–43200/],
    ["a duration over 12 hours", { durationSeconds: 43_201 }, "durationSeconds", undefined, /900–43200/],
    [
      "both tokenSource and launcher",
      { tokenSource: { getToken: async () => "x" }, launcher: {} },
      "tokenSource",
      undefined,
      /not both/,
    ],
  ])("refuses %s, naming the option and its env var", (_name, change, option, envVar, message) => {
    const error = thrown({ ...valid, ...change } as BrokerOptions);
    expect(error).toBeInstanceOf(AwsCredentialOptionError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option, envVar });
    expect((error as Error).message).toMatch(message);
  });
});
