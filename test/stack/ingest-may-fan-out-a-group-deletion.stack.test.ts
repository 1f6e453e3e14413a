/**
 * The recorder fans a deleted IdP group out to its members through
 * `RecordingDirectory.membersOfIdpGroups`, which the ingest function's `Directory` answers with a
 * DynamoDB Query (the `idpgroup#` partition). The ingest role must be allowed that Query, or every
 * Entra / Identity Center group deletion fails with AccessDenied in AWS (the local fakes enforce no
 * IAM, so the e2e tests cannot see it).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";

describe("ingest's role and the recorder's group-deletion fan-out", () => {
  it("lets the ingest function Query the directory, as membersOfIdpGroups does for a deleted group", () => {
    // Prepare
    const template = synthFullFeatured();
    const directorySource = readFileSync(
      new URL("../../handlers/directory/directory.ts", import.meta.url),
      "utf8",
    );
    const fanOut = directorySource.slice(directorySource.indexOf("public async membersOfIdpGroups"));
    const recorderSource = readFileSync(new URL("../../handlers/core/recorder.ts", import.meta.url), "utf8");

    // Act
    const policies = Object.entries(template.findResources("AWS::IAM::Policy"));
    const ingest = policies.find(([id]) => id.startsWith("SyncIngestFunction"))?.[1];
    const dynamoActions = (
      (ingest?.Properties?.PolicyDocument?.Statement ?? []) as { Action: string | string[] }[]
    )
      .flatMap((s) => [s.Action].flat())
      .filter((a) => a.startsWith("dynamodb:"));

    // Assess
    // The recorder does call the port for "groups-deleted", and the port is a Query.
    expect(recorderSource).toMatch(/membersOfIdpGroups\(translation\.names\)/);
    expect(fanOut.slice(0, 600)).toMatch(/itemsUnder\(/);
    expect(readFileSync(new URL("../../handlers/directory/partition.ts", import.meta.url), "utf8")).toMatch(
      /new QueryCommand/,
    );
    expect(dynamoActions).toContain("dynamodb:Query");
  });
});
