/**
 * The full-sync function as deployed: built from its environment (secrets by id, the table, the
 * queue and the report bucket through the AWS endpoints of the loopback stand-ins), invoked step
 * by step as the state machine invokes it, until it says the run is done.
 */
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fullSyncFromEnvironment } from "../handlers/runtime/full-sync-environment.js";
import { createFullSyncHandler } from "../handlers/runtime/full-sync-handler.js";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../local/event-source.js";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { FakeSecretsManager } from "../local/fakes/fake-secrets-manager.js";
import { ACME_CONFIG, seedAcme } from "../local/fakes/okta-directory.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";

let okta: FakeOkta;
let secrets: FakeSecretsManager;
let pipeline: TestPipeline;

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
  secrets = await FakeSecretsManager.start();
});

afterEach(async () => {
  await pipeline?.stop();
  await okta.stop();
  await secrets.stop();
});

/** A Lambda context with `ms` left. */
function contextWith(ms: number): Context {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now() } as Context;
}

describe("the deployed full-sync function", () => {
  it("lists Okta, writes its report to the bucket, and queues the reconcile that fixes a wrong role, only reading Okta", async () => {
    // Prepare: Tallyfy has Alice as a light member; Okta has her in Admins.
    pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
    pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
    pipeline.tallyfy.addMember({
      email: "alice.nguyen@example.com",
      first_name: "Alice",
      last_name: "Nguyen",
      role: "light",
    });
    secrets.secrets.set("tallyfy", JSON.stringify({ accessToken: "test-token" }));
    secrets.secrets.set("okta", JSON.stringify({ orgUrl: okta.url, apiToken: "okta-test-token" }));
    const s3 = new S3Client({
      endpoint: pipeline.awsEndpoint,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    await s3.send(new CreateBucketCommand({ Bucket: "full-sync-reports" }));
    const env = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: pipeline.dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: pipeline.awsEndpoint,
      AWS_ENDPOINT_URL_S3: pipeline.awsEndpoint,
      SYNC_CONFIG: JSON.stringify(ACME_CONFIG),
      RECONCILE_QUEUE_URL: pipeline.queues.reconcile.url,
      DIRECTORY_TABLE_NAME: pipeline.dynamo.tableName,
      REPORT_BUCKET_NAME: "full-sync-reports",
      TALLYFY_SECRET_ID: "tallyfy",
      TALLYFY_ORG_ID: pipeline.tallyfy.organizationId,
      TALLYFY_API_URL: pipeline.tallyfy.url,
      OKTA_SECRET_ID: "okta",
      OKTA_LIST_PAGE_SIZE: "1",
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const handler = createFullSyncHandler(fullSyncFromEnvironment(process.env));

    // Act: as the state machine does, the first step with nothing, then with the run's id.
    const steps = [];
    try {
      let input: { runId?: string } = {};
      for (let i = 0; i < 20; i++) {
        // As the state machine passes it: the last answer, and the execution's id.
        const step = await handler({ input, executionId: "execution-1" }, contextWith(60_000));
        steps.push(step);
        if (step.done) break;
        input = { runId: step.runId };
      }
    } finally {
      process.env = saved;
    }
    await pipeline.drain();
    const reports = await s3.send(new ListObjectsV2Command({ Bucket: "full-sync-reports" }));

    // Assess
    expect(steps.at(-1)?.done).toBe(true);
    expect(steps.length).toBeGreaterThan(1);
    expect(reports.Contents?.map((o) => o.Key)).toEqual([
      expect.stringMatching(/^reports\/\d{4}-\d{2}-\d{2}\/.+\.json$/),
    ]);
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("admin");
    expect(okta.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });
});
