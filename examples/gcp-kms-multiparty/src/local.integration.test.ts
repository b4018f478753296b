import { expect, it } from "vitest";
import { parseCollaborators } from "./collaborators.js";
import { runLocal } from "./local.js";

it("counts both collaborators' words for the approved build; a build collaborator 2 has not approved reads only collaborator 1", async () => {
  const lines: string[] = [];
  const run = await runLocal((line) => lines.push(line));

  expect(run.approved.decrypted).toEqual({ "collaborator-1": 2, "collaborator-2": 2 });
  expect(Object.fromEntries(run.approved.counts)).toMatchObject({
    the: 5,
    fox: 3,
    dog: 2,
    quick: 1,
    barks: 1,
    runs: 1,
  });
  // A message naming anyone else is refused without asking KMS.
  expect(run.approved.refused).toEqual([{ collaborator: "collaborator-3", reason: "UNKNOWN_COLLABORATOR" }]);
  expect(run.kmsCallsForUnknown).toBe(0);

  expect(run.newBuild.decrypted).toEqual({ "collaborator-1": 2, "collaborator-2": 0 });
  // Collaborator 2's rendered condition pins the digests it approved: its STS refuses the new build's token.
  expect(run.newBuild.refused).toEqual([
    { collaborator: "collaborator-2", reason: "unauthorized_client" },
    { collaborator: "collaborator-2", reason: "unauthorized_client" },
    { collaborator: "collaborator-3", reason: "UNKNOWN_COLLABORATOR" },
  ]);
  expect(Object.fromEntries(run.newBuild.counts)).toEqual({
    the: 2,
    quick: 1,
    brown: 1,
    fox: 1,
    jumps: 1,
    over: 1,
    lazy: 1,
    dog: 1,
  });
  // Nothing printed carries a token.
  expect(lines.join("\n")).not.toMatch(/ya29\.|eyJ[\w-]+\.eyJ/);
}, 30_000);

it.each([
  ["an empty list", []],
  [
    "a duplicate name",
    [
      {
        name: "a",
        audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool1/providers/prov1",
        keyName: "projects/p/locations/global/keyRings/r/cryptoKeys/k",
      },
      {
        name: "a",
        audience: "//iam.googleapis.com/projects/2/locations/global/workloadIdentityPools/pool1/providers/prov1",
        keyName: "projects/p/locations/global/keyRings/r/cryptoKeys/k",
      },
    ],
  ],
  [
    "an https: audience",
    [
      {
        name: "a",
        audience: "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool1/providers/prov1",
        keyName: "projects/p/locations/global/keyRings/r/cryptoKeys/k",
      },
    ],
  ],
  [
    "a key version instead of a key",
    [
      {
        name: "a",
        audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool1/providers/prov1",
        keyName: "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
      },
    ],
  ],
])("refuses a collaborator list with %s", (_name, list) => {
  expect(() => parseCollaborators(list)).toThrow();
});
