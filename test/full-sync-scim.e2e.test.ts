/**
 * The full reconciliation lists the users the SCIM endpoint stored: a SCIM change that was stored
 * but whose queued events were lost (a departure above all) is made good by the next run.
 */

import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DeleteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoScimStore } from "../handlers/directory/scim-store.js";
import { scimSource } from "../handlers/sources/scim/index.js";
import type { GroupRecord, UserRecord } from "../handlers/sources/scim/store.js";
import { localFullSync } from "../local/full-sync.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../local/pipeline.js";
import { membersOf } from "./support/e2e.js";
import { entraUser, failing, SCIM_TOKEN, scimClient } from "./support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline?.stop();
});

describe("a full reconciliation of the SCIM endpoint's users", () => {
  it("deprovisions a user the provider deleted whose departure never reached the directory, and only them", async () => {
    // Prepare: 21 users provisioned over SCIM (one departure is within the 5% limit).
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN] } });
    for (const name of ["Engineering", "Sales", "Partners"]) pipeline.tallyfy.addGroup({ name });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const ids: string[] = [];
    for (let n = 0; n < 21; n++) {
      const created = await scim.call("POST", "/Users", entraUser(`user.number${n}@example.com`));
      ids.push((created.body as { id: string }).id);
    }
    await pipeline.drain();
    expect(pipeline.tallyfy.memberByEmail("user.number7@example.com")?.status).toBe("invited");
    // The provider deleted user 7; the endpoint removed the stored user, but its queued departure was
    // lost (as if the queue had refused it and nothing retried).
    await DynamoDBDocumentClient.from(pipeline.dynamo.client).send(
      new DeleteCommand({ TableName: pipeline.dynamo.tableName, Key: { pk: "scim#users", sk: ids[7] } }),
    );

    // Act
    const fullSync = await localFullSync(pipeline, { config: DEFAULT_TEST_CONFIG, sources: [scimSource] });
    await fullSync.run();
    await pipeline.drain();

    // Assess
    const report = await fullSync.lastReport();
    expect(report.sources.scim).toMatchObject({ listed: 20, complete: true });
    expect(pipeline.tallyfy.memberByEmail("user.number7@example.com")?.status).toBe("disabled");
    expect(
      [...pipeline.tallyfy.members.values()].filter((m) => m.status === "disabled").map((m) => m.email),
    ).toEqual(["user.number7@example.com"]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("carries out a group change the endpoint stored but never queued (answered 503, and the provider did not retry)", async () => {
    // Prepare: Ann is provisioned; adding her to Engineering is stored, but its queueing fails once.
    const failures = { left: 0 };
    pipeline = await startPipeline({
      scim: {
        tokens: [SCIM_TOKEN],
        sqs: failing<SQSClient>(failures, (c) => c instanceof SendMessageBatchCommand),
      },
    });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const ann = await scim.call("POST", "/Users", entraUser("ann.lee@example.com"));
    await pipeline.drain();
    failures.left = 1;
    const group = await scim.call("POST", "/Groups", {
      displayName: "Engineering",
      members: [{ value: ann.body.id }],
    });
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Engineering");

    // Act: nothing touches the group again; the daily run comes.
    const fullSync = await localFullSync(pipeline, { config: DEFAULT_TEST_CONFIG, sources: [scimSource] });
    await fullSync.run();
    await pipeline.drain();
    const second = await localFullSync(pipeline, { config: DEFAULT_TEST_CONFIG, sources: [scimSource] });
    await second.run();
    await pipeline.drain();

    // Assess
    expect(group.status).toBe(503);
    expect(before).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["ann.lee@example.com"]);
    // Carried out, and no longer pending in the store.
    const store = new DynamoScimStore<UserRecord, GroupRecord>(
      DynamoDBDocumentClient.from(pipeline.dynamo.client),
      pipeline.dynamo.tableName,
    );
    expect((await store.allGroups()).filter((g) => g.outbox)).toEqual([]);
  });
});
