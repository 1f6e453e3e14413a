/**
 * The full sync's Okta listing as the stack deploys it: Okta read through a Pacer at the full
 * sync's share of the Okta budget (OKTA_REQUESTS_PER_MINUTE, 60 a minute by default), pages of
 * OKTA_LIST_PAGE_SIZE, the step's Lambda timeout, the engine's default 5 s margin. A listed user
 * costs two more requests (app assignment, groups), so a page of 200 took about 409 s against a
 * 300 s step, and the pacer's refusal of a slot past the deadline was not taken for a page out of
 * time: every Okta org of more than about 145 assigned users lost its listing, and the departures
 * it would infer, on every run. Time is virtual: it moves only when the Okta client or its pacer
 * sleeps, so minutes of pacing run in a second.
 */

import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FullSync, type FullSyncReport } from "../../handlers/full-sync/full-sync.js";
import { FullSyncStore } from "../../handlers/full-sync/store.js";
import { ReconcileQueue } from "../../handlers/runtime/queues.js";
import { Pacer } from "../../handlers/shared/pacer.js";
import { parseSyncConfig, SOURCES } from "../../handlers/sources/index.js";
import { OktaClient } from "../../handlers/sources/okta/client.js";
import { StaticOktaCredentials } from "../../handlers/sources/okta/credentials.js";
import { oktaSource } from "../../handlers/sources/okta/index.js";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { synthFullFeatured } from "../stack/full-featured.js";

let okta: FakeOkta;
let pipeline: TestPipeline;

/** What the stack gives the full-sync function. */
function deployed() {
  const resources = synthFullFeatured().toJSON().Resources as Record<
    string,
    { Type: string; Properties: { Timeout?: number; Environment?: { Variables?: Record<string, unknown> } } }
  >;
  const fn = Object.entries(resources).find(
    ([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes("FullSyncFunction"),
  )?.[1];
  return {
    perMinute: Number(fn?.Properties.Environment?.Variables?.OKTA_REQUESTS_PER_MINUTE),
    // Unset, the function reads Okta's largest page (OKTA_LIST_PAGE_SIZE's default).
    pageSize: Number(fn?.Properties.Environment?.Variables?.OKTA_LIST_PAGE_SIZE ?? 200),
    timeoutMs: Number(fn?.Properties.Timeout) * 1000,
  };
}

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
});

afterEach(async () => {
  await pipeline.stop();
  await okta.stop();
});

function addStaff(count: number) {
  for (let n = 0; n < count; n++) {
    const user = okta.addUser({
      login: `staff${n}@example.com`,
      email: `staff${n}@example.com`,
      firstName: "Staff",
      lastName: `N${n}`,
    });
    okta.assignApp(ACME.appId, user.id);
  }
}

/** Runs the full sync as deployed, each invocation given the function's timeout, until done. */
async function runAsDeployed(pageSize?: number): Promise<FullSyncReport> {
  const { perMinute, timeoutMs, pageSize: deployedPageSize } = deployed();
  let t = Date.now();
  const now = () => t;
  const sleep = async (ms: number) => {
    t = Math.ceil(t + Math.max(0, ms)); // Date.now is whole milliseconds
  };
  const db = DynamoDBDocumentClient.from(pipeline.dynamo.clientAs("fullSync"));
  const config = parseSyncConfig(JSON.stringify(ACME_CONFIG), "the test configuration", SOURCES);
  const client = new OktaClient({
    credentials: new StaticOktaCredentials(okta.url, "okta-test-token"),
    listPageSize: pageSize ?? deployedPageSize,
    now,
    sleep,
    pacer: new Pacer({ perMinute, now, sleep }),
  });
  let report: FullSyncReport | undefined;
  let runId: string | undefined;
  for (let i = 0; i < 40; i++) {
    const engine = new FullSync({
      queue: new ReconcileQueue(pipeline.sqs, pipeline.queues.reconcile.url, pipeline.queues.departures.url),
      directory: pipeline.directoryAs("fullSync"),
      store: new FullSyncStore(db, pipeline.dynamo.tableName),
      sources: [oktaSource],
      connection: () => client,
      config,
      tallyfy: async () => ({ members: [], guests: [], groups: [] }) as never,
      writeReport: async (_id, r) => {
        report = r;
        return "s3://reports/r.json";
      },
      now,
    });
    const step = await engine.step({ runId }, now() + timeoutMs);
    runId = step.runId;
    t += 1_000; // the state machine invokes again
    if (step.done) break;
  }
  if (!report) throw new Error("the run wrote no report");
  return report;
}

describe("the Okta listing of a full sync, as the stack deploys it", () => {
  it("completes for an org whose listing needs more than one invocation (pages of 100)", async () => {
    // Prepare: 300 assigned users; a page of 100 costs 201 paced requests (about 205 s at the
    // full sync's 60 a minute), which fits one 300 s invocation, but the second page of the
    // first invocation runs out of its time
    addStaff(297);

    // Act
    const report = await runAsDeployed(100);

    // Assess: the page that ran out is read again by the next invocation, not failed
    expect(report.sources.okta?.error).toBeUndefined();
    expect(report.sources.okta).toMatchObject({ complete: true });
  }, 120_000);

  it("completes for an org of 200 assigned users at the page size the stack gives the function", async () => {
    // Prepare: at Okta's default page of 200, 401 paced requests (about 409 s at 60 a minute)
    // against a 300 s step
    addStaff(197);

    // Act
    const report = await runAsDeployed();

    // Assess
    expect(report.sources.okta?.error).toBeUndefined();
    expect(report.sources.okta).toMatchObject({ complete: true });
  }, 120_000);
});
