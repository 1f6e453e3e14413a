/**
 * The full reconciliation as deployed, and the operator CLI over a stack: the budget the stack keeps
 * for the full sync, a failed run's hold on later runs, what `dlq --stack` shows.
 */
import { Writable } from "node:stream";
import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../cli/main.js";
import { FullSync } from "../../handlers/full-sync/full-sync.js";
import { FullSyncStore } from "../../handlers/full-sync/store.js";
import { ReconcileQueue } from "../../handlers/runtime/queues.js";
import { parseSyncConfig } from "../../handlers/sources/index.js";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { FakeAwsControl } from "../../local/fakes/fake-aws-control.js";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";

const context = {
  tallyfy: { organizationId: "org-123" },
  sync: {
    memberDomains: ["example.com"],
    roles: { admin: ["Admins"] },
    groups: { Engineering: "Engineering" },
  },
  alarmEmail: "ops@example.com",
  eventBridge: {
    eventBusName: "aws.partner/okta.com/acme/tallyfy",
    eventPattern: { source: [{ prefix: "aws.partner/okta.com" }] },
  },
  okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/acme/log-stream" },
};

function synth(config: Record<string, unknown>) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Attack", {
    config: parseAppConfig(config),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return Template.fromStack(stack);
}

let pipeline: TestPipeline | undefined;
let okta: FakeOkta | undefined;
let aws: FakeAwsControl | undefined;
const savedEnv = { ...process.env };

afterEach(async () => {
  process.env = { ...savedEnv };
  await pipeline?.stop();
  await okta?.stop();
  await aws?.stop();
  pipeline = undefined;
  okta = undefined;
  aws = undefined;
});

describe("the full sync's share of the Okta budget", () => {
  it("keeps the ingest functions plus the full sync within Okta's budget (600 a minute)", () => {
    // Prepare: the default deployment (full sync on, share 0.1), five ingest functions at most.
    const template = synth({ ...context, ingestMaxConcurrency: 5 });
    const variables = (fragment: string) =>
      Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
        id.includes(fragment),
      )?.[1]?.Properties?.Environment?.Variables as Record<string, string>;

    // Act: what every function may spend of Okta's budget at once.
    const ingest = Number(variables("IngestFunction").OKTA_REQUESTS_PER_MINUTE) * 5;
    const fullSync = Number(variables("FullSyncFunction").OKTA_REQUESTS_PER_MINUTE);

    // Assess: the README says a tenth is kept for the full sync and events get the rest; the sum
    // must not exceed the budget, else both are throttled by Okta when a run lists.
    expect(fullSync).toBe(60);
    expect(ingest + fullSync).toBeLessThanOrEqual(600);
  });
});

describe("a failed full reconciliation run", () => {
  /** The deployed engine on dynalite; `tallyfyDown`: the one Tallyfy read at the run's end fails. */
  async function engines() {
    pipeline = await startPipeline({ config: ACME_CONFIG });
    const p = pipeline;
    const config = parseSyncConfig(JSON.stringify(ACME_CONFIG), "the attack configuration");
    return (now: () => number, tallyfyDown: boolean) =>
      new FullSync({
        queue: new ReconcileQueue(p.sqs, p.queues.reconcile.url),
        directory: p.directory,
        store: new FullSyncStore(DynamoDBDocumentClient.from(p.dynamo.client), p.dynamo.tableName),
        sources: [],
        connection: () => undefined,
        config,
        tallyfy: tallyfyDown
          ? () => Promise.reject(new Error("Tallyfy answered 503"))
          : () => Promise.reject(new Error("reached the Tallyfy read: the run started")),
        writeReport: async () => "s3://reports/x",
        marginMs: 200,
        now,
      });
  }

  it("does not answer the state machine's retry of a failed first step with done (the execution would succeed, unalarmed)", async () => {
    // Prepare: the scheduler starts an execution; its first step ({}) fails (Tallyfy outage).
    const engine = await engines();
    const execution = { executionId: "arn:aws:states:eu-west-1:111111111111:execution:FullSync:run-1" };
    const first = await engine(Date.now, true)
      .step(execution, Date.now() + 60_000)
      .catch((error: Error) => ({ error: error.message }));

    // Act: the Step's Retry (States.TaskFailed, 2 attempts) invokes again with the same input, {},
    // and the execution's id the state machine passes with every step.
    const retry = await engine(Date.now, true)
      .step(execution, Date.now() + 60_000)
      .catch((error: Error) => ({ error: error.message }));

    // Assess: the retry must fail again (or carry the run on), never say done: done sends the
    // state machine to Succeed, so the execution succeeds, FullSyncFailedAlarm stays quiet, and the
    // run item is left "in progress".
    expect(first).toEqual({ error: "Tallyfy answered 503" });
    expect("skipped" in retry ? retry.skipped : undefined).toBeUndefined();
    expect("done" in retry ? retry.done : false).toBe(false);
  });

  it("does not block the next scheduled start once the state machine that ran it has timed out (12 h)", async () => {
    // Prepare: a run whose first step failed.
    const engine = await engines();
    await engine(Date.now, true)
      .step({}, Date.now() + 60_000)
      .catch(() => undefined);

    // Act: the next scheduled start, 13 hours later: the execution that ran it is long gone (its
    // state machine times out at 12 h), so nothing is carrying that run on.
    const later = Date.now() + 13 * 3_600_000;
    const next = await engine(() => later, false)
      .step({}, later + 60_000)
      .catch((error: Error) => ({ error: error.message }));

    // Assess: the new start must run (here it reaches the Tallyfy read), not be skipped as "in progress".
    expect(next).toEqual({ error: "reached the Tallyfy read: the run started" });
  });
});

describe("dlq --stack", () => {
  it("shows the EventBridge dead-letter queue's undelivered events, which the stack outputs", async () => {
    // Prepare: a deployed stack (loopback control plane) whose EventBridge rule gave up on an Okta
    // deactivation after a day of retries, into the EventBridge dead-letter queue.
    okta = await FakeOkta.start();
    seedAcme(okta);
    aws = await FakeAwsControl.start();
    pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
    const created = await pipeline.sqs.send(new CreateQueueCommand({ QueueName: "eventbridge-dlq" }));
    const eventBridgeDlq = created.QueueUrl ?? "";
    await pipeline.sqs.send(
      new SendMessageCommand({
        QueueUrl: eventBridgeDlq,
        MessageBody: JSON.stringify({ "detail-type": "user.lifecycle.deactivate", detail: {} }),
        MessageAttributes: {
          ERROR_CODE: { DataType: "String", StringValue: "SQS_TARGET_FAILED" },
        },
      }),
    );
    aws.stacks.set("TallyfyIdpSync", {
      outputs: {
        SyncIngestQueueUrl8A1B2C3D: pipeline.queues.ingest.url,
        SyncIngestDeadLetterQueueUrl1F2E3D4C: pipeline.queues.ingestDeadLetter.url,
        SyncReconcileQueueUrl5A6B7C8D: pipeline.queues.reconcile.url,
        SyncReconcileDeadLetterQueueUrl9E8D7C6B: pipeline.queues.reconcileDeadLetter.url,
        SyncEventBridgeDeadLetterQueueUrl7B6A5C4D: eventBridgeDlq,
        SyncApplyFunctionName4D5E6F7A: "tallyfy-idp-sync-apply",
      },
    });
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: aws.endpoint,
      AWS_ENDPOINT_URL_SQS: pipeline.awsEndpoint,
    });
    let text = "";
    const out = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });

    // Act: the operator asks the stack for its dead letters.
    const code = await main(["dlq", "list", "--stack", "TallyfyIdpSync", "--json"], out, out);

    // Assess: every dead-letter queue the stack has is listed, the undelivered deactivation too.
    expect(code).toBe(0);
    const listed = JSON.parse(text) as { queue: string; summary: { count: number }[] }[];
    expect(listed.map((q) => q.queue)).toContain("eventbridge");
  });
});
