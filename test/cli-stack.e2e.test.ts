/**
 * The operator commands against a deployed stack: `plan --stack` reads the stack's outputs, the
 * configuration the apply function runs with, and the credentials in the stack's secrets (the
 * AWS control plane, Secrets Manager and DynamoDB all on loopback), and `dlq --stack` finds both
 * dead-letter queues and each one's source queue from the outputs.
 */
import { Writable } from "node:stream";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../cli/main.js";
import { FakeAwsControl } from "../local/fakes/fake-aws-control.js";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { FakeSecretsManager } from "../local/fakes/fake-secrets-manager.js";
import { ACME_CONFIG, seedAcme } from "../local/fakes/okta-directory.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";

let okta: FakeOkta;
let secrets: FakeSecretsManager;
let aws: FakeAwsControl;
let pipeline: TestPipeline;
const saved = { ...process.env };

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
  secrets = await FakeSecretsManager.start();
  aws = await FakeAwsControl.start();
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
  // As CDK names them: the construct's path, the output id, a hash.
  aws.stacks.set("TallyfyIdpSync", {
    outputs: {
      SyncIngestQueueUrl8A1B2C3D: pipeline.queues.ingest.url,
      SyncIngestDeadLetterQueueUrl1F2E3D4C: pipeline.queues.ingestDeadLetter.url,
      SyncReconcileQueueUrl5A6B7C8D: pipeline.queues.reconcile.url,
      SyncReconcileDeadLetterQueueUrl9E8D7C6B: pipeline.queues.reconcileDeadLetter.url,
      SyncDirectoryTableName0A1B2C3D: pipeline.dynamo.tableName,
      SyncApplyFunctionName4D5E6F7A: "tallyfy-idp-sync-apply",
      SyncOktaSecretArn3C4D5E6F: "okta-secret",
    },
  });
  // As the stack deploys it: the configuration in the code package, ids in the environment.
  aws.bundles.set("tallyfy-idp-sync-apply", { "sync-config.json": JSON.stringify(ACME_CONFIG) });
  aws.functions.set("tallyfy-idp-sync-apply", {
    TALLYFY_API_URL: pipeline.tallyfy.url,
    TALLYFY_ORG_ID: pipeline.tallyfy.organizationId,
    TALLYFY_SECRET_ID: "tallyfy-secret",
  });
  secrets.secrets.set("tallyfy-secret", JSON.stringify({ accessToken: "test-token" }));
  secrets.secrets.set("okta-secret", JSON.stringify({ orgUrl: okta.url, apiToken: "okta-test-token" }));
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: aws.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: pipeline.dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: pipeline.awsEndpoint,
  });
  // No token in the shell: everything comes from the stack's secrets.
  delete process.env.OKTA_API_TOKEN;
  delete process.env.TALLYFY_TOKEN;
});

afterEach(async () => {
  process.env = { ...saved };
  await pipeline.stop();
  await okta.stop();
  await secrets.stop();
  await aws.stop();
});

function capture() {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

async function run(args: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(args, out.stream, err.stream);
  return { code, out: out.text(), err: err.text() };
}

describe("tallyfy-idp-sync plan --stack", () => {
  it("plans from the deployed configuration and secrets, and only reads", async () => {
    // Prepare
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addMember({
      email: "alice.nguyen@example.com",
      first_name: "Alice",
      last_name: "Nguyen",
      role: "light",
    });

    // Act
    const result = await run(["plan", "--stack", "TallyfyIdpSync"]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/alice\.nguyen@example\.com\n {2}~ role: light -> admin/);
    expect(result.out).toContain("okta: 2 users listed");
    expect(pipeline.tallyfy.requests.filter((r) => r.method !== "GET" && r.path !== "/oauth/token")).toEqual(
      [],
    );
    expect(okta.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(aws.requests.map((r) => r.action).sort()).toEqual(["DescribeStacks", "GetCode", "GetFunction"]);
  });

  it("reads the configuration of a stack deployed when it was an environment variable", async () => {
    // Prepare
    aws.bundles.delete("tallyfy-idp-sync-apply");
    aws.functions.set("tallyfy-idp-sync-apply", {
      ...aws.functions.get("tallyfy-idp-sync-apply"),
      SYNC_CONFIG: JSON.stringify(ACME_CONFIG),
    });

    // Act
    const result = await run(["plan", "--stack", "TallyfyIdpSync"]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toContain("okta: 2 users listed");
    expect(aws.requests.map((r) => r.action).sort()).toEqual(["DescribeStacks", "GetFunction"]);
  });

  it("says so when the apply function's code package has no configuration", async () => {
    // Prepare
    aws.bundles.set("tallyfy-idp-sync-apply", {});

    // Act
    const result = await run(["plan", "--stack", "TallyfyIdpSync"]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toContain("the apply function tallyfy-idp-sync-apply bundles no sync-config.json");
  });

  it("says which stack is missing, without a stack trace", async () => {
    // Act
    const result = await run(["plan", "--stack", "NoSuchStack"]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/NoSuchStack/);
  });
});

describe("tallyfy-idp-sync dlq --stack", () => {
  it("lists both dead-letter queues and redrives the ingest one's letters to the ingest queue", async () => {
    // Prepare
    const letter = (queueUrl: string, type: string) =>
      pipeline.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: `{"type":"${type}"}`,
          // The reconcile queue's dead-letter queue is FIFO, like the queue.
          ...(queueUrl.endsWith(".fifo") ? { MessageGroupId: "person:x", MessageDeduplicationId: type } : {}),
          MessageAttributes: {
            errorType: { DataType: "String", StringValue: type },
            errorMessage: { DataType: "String", StringValue: `${type} happened` },
          },
        }),
      );
    await letter(pipeline.queues.ingestDeadLetter.url, "OktaApiError");
    await letter(pipeline.queues.reconcileDeadLetter.url, "TallyfyApiError");

    // Act
    const listed = await run(["dlq", "list", "--stack", "TallyfyIdpSync", "--json"]);
    const redriven = await run([
      "dlq",
      "redrive",
      "--stack",
      "TallyfyIdpSync",
      "--queue",
      "ingest",
      "--json",
    ]);
    const after = await run(["dlq", "list", "--stack", "TallyfyIdpSync", "--json"]);

    // Assess
    expect(JSON.parse(listed.out)).toEqual([
      { queue: "ingest", summary: [expect.objectContaining({ errorType: "OktaApiError", count: 1 })] },
      { queue: "reconcile", summary: [expect.objectContaining({ errorType: "TallyfyApiError", count: 1 })] },
    ]);
    expect(JSON.parse(redriven.out)).toEqual({ redriven: 1 });
    expect(JSON.parse(after.out)).toEqual([
      { queue: "ingest", summary: [] },
      { queue: "reconcile", summary: [expect.objectContaining({ errorType: "TallyfyApiError", count: 1 })] },
    ]);
  });
});
