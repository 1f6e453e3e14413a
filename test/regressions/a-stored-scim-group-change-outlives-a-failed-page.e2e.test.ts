/**
 * A SCIM group change the endpoint stored but never queued is carried out by the full sync's
 * first SCIM page, and settled only once that page is recorded. When recording it failed in an
 * invocation's last seconds, the engine took the failure for a page out of time and closed the
 * listing, which settled the change (the SCIM listing's `finally` around its `yield`): the change
 * was lost for good. A failure is out of time only when the HTTP layer says so, and a page out of
 * time is never closed; a listing that fails keeps the change for the next run.
 */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import type { Directory } from "../../handlers/directory/directory.js";
import { DynamoScimStore } from "../../handlers/directory/scim-store.js";
import { FullSync } from "../../handlers/full-sync/full-sync.js";
import { FullSyncStore } from "../../handlers/full-sync/store.js";
import { ReconcileQueue } from "../../handlers/runtime/queues.js";
import { parseSyncConfig } from "../../handlers/sources/index.js";
import { scimSource } from "../../handlers/sources/scim/index.js";
import type { GroupRecord, UserRecord } from "../../handlers/sources/scim/store.js";
import { TallyfyClient } from "../../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../../handlers/tallyfy/credentials.js";
import { readSnapshot } from "../../handlers/tallyfy/drift.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { membersOf } from "../support/e2e.js";
import { entraUser, failing, SCIM_TOKEN, scimClient } from "../support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline?.stop();
});

describe("a SCIM group change carried by a full sync's first page", () => {
  it("is not lost when recording that page fails in an invocation's last seconds: the next run carries it out", async () => {
    // Prepare: Ann is provisioned; adding her to Engineering is stored, but its queueing fails
    // once (the endpoint answers 503 and the provider does not retry)
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
    expect(group.status).toBe(503);

    // The full-sync function as deployed (its role's client), on a clock the test moves
    let t = Date.now();
    const now = () => t;
    const invocationMs = 300_000;
    const db = DynamoDBDocumentClient.from(pipeline.dynamo.clientAs("fullSync"));
    const config = parseSyncConfig(JSON.stringify(DEFAULT_TEST_CONFIG), "the test configuration", [
      scimSource,
    ]);
    const tallyfy = new TallyfyClient({
      organizationId: pipeline.tallyfy.organizationId,
      baseUrl: pipeline.tallyfy.url,
      tokens: new StaticTokenSource("test-token"),
    });
    let deadline = 0;
    // One transient failure, 2 s before the deadline, as the pending membership is recorded.
    let failOnce = true;
    const real = pipeline.directoryAs("fullSync");
    const directory = new Proxy(real, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== "record") return typeof value === "function" ? value.bind(target) : value;
        return (...args: Parameters<Directory["record"]>) => {
          if (failOnce && args[0].type === "group.member_added") {
            failOnce = false;
            t = deadline - 2_000;
            return Promise.reject(
              Object.assign(new Error("Throughput exceeds the current capacity"), {
                name: "ThrottlingException",
              }),
            );
          }
          return target.record(...args);
        };
      },
    }) as Directory;
    const engine = () =>
      new FullSync({
        queue: new ReconcileQueue(
          pipeline.sqs,
          pipeline.queues.reconcile.url,
          pipeline.queues.departures.url,
        ),
        directory,
        store: new FullSyncStore(db, pipeline.dynamo.tableName),
        sources: [scimSource],
        connection: () => new DynamoScimStore<UserRecord, GroupRecord>(db, pipeline.dynamo.tableName),
        config,
        tallyfy: () => readSnapshot(tallyfy),
        writeReport: async () => "s3://reports/r.json",
        now,
      });

    const run = async () => {
      let runId: string | undefined;
      for (let i = 0; i < 10; i++) {
        t += 1_000;
        deadline = t + invocationMs;
        const step = await engine().step({ runId }, deadline);
        runId = step.runId;
        if (step.done) return step;
      }
      throw new Error("the run did not end");
    };

    // Act: the run whose recording fails, then the next day's
    const failed = await run();
    await pipeline.drain();
    const afterFailure = membersOf(pipeline.tallyfy, "Engineering");
    t += 86_400_000;
    const next = await run();
    await pipeline.drain();

    // Assess
    expect(failOnce).toBe(false);
    expect([failed.done, next.done]).toEqual([true, true]);
    expect(afterFailure).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["ann.lee@example.com"]);
  }, 60_000);
});
