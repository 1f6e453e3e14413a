import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { AppConfigError, parseAppConfig } from "../../lib/app-config.js";
import { context, synth } from "./synth.js";

let built: ReturnType<typeof synth>;

beforeAll(() => {
  built = synth();
});

describe("queues", () => {
  it("has a standard ingest queue and two high-throughput FIFO reconcile lanes, redriving to their dead-letter queues", () => {
    // Prepare
    const { template } = built;
    const queues = template.findResources("AWS::SQS::Queue");
    const byName = (fragment: string) =>
      Object.entries(queues).find(([id]) => id.includes(fragment))?.[1]?.Properties;

    // Assess
    // The five of the pipeline, the schedules' dead-letter queue, and the EventBridge rules'.
    expect(Object.keys(queues)).toHaveLength(7);
    expect(byName("SyncIngestQueue")?.FifoQueue).toBeUndefined();
    // The Okta Event Hook endpoint's body limit.
    expect(byName("SyncIngestQueue")?.MaximumMessageSize).toBe(262_144);
    expect(byName("SyncCommandsQueue")).toMatchObject({
      FifoQueue: true,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
    });
    expect(byName("SyncCommandsDeadLetterQueue")).toMatchObject({
      FifoQueue: true,
      MessageRetentionPeriod: 1_209_600,
    });
    expect(byName("SyncIngestDeadLetterQueue")).toMatchObject({ MessageRetentionPeriod: 1_209_600 });
    expect(byName("SyncIngestQueue")?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [expect.stringContaining("IngestDeadLetterQueue"), "Arn"] },
      maxReceiveCount: 5,
    });
    for (const lane of ["SyncCommandsQueue", "SyncDeparturesQueue"]) {
      expect(byName(lane)).toMatchObject({
        FifoQueue: true,
        DeduplicationScope: "messageGroup",
        FifoThroughputLimit: "perMessageGroupId",
      });
      expect(byName(lane)?.RedrivePolicy).toEqual({
        deadLetterTargetArn: { "Fn::GetAtt": [expect.stringContaining("CommandsDeadLetterQueue"), "Arn"] },
        maxReceiveCount: 5,
      });
    }
  });

  it("encrypts every queue and denies every request without TLS", () => {
    // Prepare
    const { template } = built;

    // Assess
    for (const queue of Object.values(template.findResources("AWS::SQS::Queue")))
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(template.findResources("AWS::SQS::QueuePolicy"));
    const denyPlainText = policies.filter((p) =>
      p.Properties.PolicyDocument.Statement.some(
        (s: { Effect: string; Condition?: { Bool?: Record<string, string> } }) =>
          s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false",
      ),
    );
    expect(denyPlainText).toHaveLength(7);
  });

  it("gives each source queue a visibility timeout of six times its consumer's timeout", () => {
    // Prepare
    const { template, stack } = built;
    const functions = template.findResources("AWS::Lambda::Function");
    const timeoutOf = (fragment: string) =>
      Object.entries(functions).find(([id]) => id.includes(fragment))?.[1]?.Properties.Timeout;
    const queues = template.findResources("AWS::SQS::Queue");
    const visibilityOf = (fragment: string) =>
      Object.entries(queues).find(([id]) => id.includes(fragment))?.[1]?.Properties.VisibilityTimeout;

    // Assess
    expect(stack.sync.applyFunction).toBeDefined();
    expect(visibilityOf("SyncIngestQueue")).toBe(6 * timeoutOf("IngestFunction"));
    expect(visibilityOf("SyncCommandsQueue")).toBe(6 * timeoutOf("ApplyFunction"));
  });
});

describe("functions", () => {
  it("runs the four functions on nodejs24.x arm64 and keeps the secret's value out of the environment", () => {
    // Prepare
    const { template } = built;

    // Assess: ingest, apply, departures and the full reconciliation.
    template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      { Runtime: "nodejs24.x", Architectures: ["arm64"] },
      4,
    );
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          TALLYFY_ORG_ID: "org-123",
          TALLYFY_SECRET_ID: { Ref: Match.stringLikeRegexp("TallyfySecret") },
          MAX_RECEIVE_COUNT: "5",
        }),
      },
    });
    const secrets = Object.values(template.findResources("AWS::SecretsManager::Secret"));
    // The Tallyfy and Okta secrets, created empty for the administrator to fill.
    expect(secrets.map((secret) => secret.Properties.SecretString)).toEqual(["{}", "{}"]);
    const environments = JSON.stringify(
      Object.values(template.findResources("AWS::Lambda::Function")).map((f) => f.Properties.Environment),
    );
    expect(environments).not.toMatch(/accessToken|clientSecret|Bearer|"{}"/);
  });

  it("maps both queues with partial batch responses and caps both functions' concurrency", () => {
    // Prepare
    const { template } = built;

    // Assess
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      // A bulk change in the identity provider fans out no wider than this.
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 2 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  it("keeps the directory in one on-demand, encrypted, recoverable table that outlives the stack", () => {
    // Prepare
    const { template } = built;

    // Assess
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
    const apply = template.findResources("AWS::Lambda::Function", {
      Properties: {
        Handler: "index.handler",
        Environment: { Variables: { TALLYFY_SECRET_ID: Match.anyValue() } },
      },
    });
    expect(JSON.stringify(apply)).toContain("DIRECTORY_TABLE_NAME");
  });

  it("traces the functions with X-Ray only when asked", () => {
    // Prepare
    const traced = synth({ ...context, tracing: true }).template;
    const modes = (template: Template) =>
      Object.values(template.findResources("AWS::Lambda::Function")).map(
        (f) => f.Properties.TracingConfig?.Mode,
      );

    // Assess
    expect(modes(traced)).toEqual(["Active", "Active", "Active", "Active"]);
    expect(modes(built.template)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("lets each function write only its own log group, with no managed policy", () => {
    // Prepare
    const { template } = built;
    const roles = Object.entries(template.findResources("AWS::IAM::Role")).filter(([id]) =>
      /(Ingest|Apply)FunctionRole/.test(id),
    );

    // Assess
    expect(roles).toHaveLength(2);
    for (const [id, role] of roles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const fn = id.includes("Ingest") ? "Ingest" : "Apply";
      expect(role.Properties.Policies).toEqual([
        {
          PolicyName: "Logs",
          PolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              {
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Effect: "Allow",
                Resource: { "Fn::GetAtt": [expect.stringMatching(new RegExp(`${fn}FunctionLogs`)), "Arn"] },
              },
            ],
          },
        },
      ]);
    }
  });

  it("grants each function only what it uses, on the exact resources", () => {
    // Prepare
    const { template } = built;
    const policies = Object.entries(template.findResources("AWS::IAM::Policy"));
    const statementsOf = (fragment: string) =>
      policies.find(([id]) => id.includes(fragment))?.[1]?.Properties.PolicyDocument.Statement as {
        Action: string | string[];
        Resource: unknown;
      }[];
    const summary = (fragment: string) =>
      statementsOf(fragment)
        .map(
          (s) =>
            `${[s.Action].flat().sort().join(",")} -> ${JSON.stringify(s.Resource).match(/(Ingest|Commands|Departures)(DeadLetter)?Queue|TallyfySecret|OktaSecret|Directory/)?.[0]}`,
        )
        .sort();

    // Assess
    // The reconcile queue keeps the logical id `CommandsQueue`, so updating a stack never replaces it.
    expect(summary("IngestFunction")).toEqual([
      // BatchGetItem: a deleted IdP group's members are read together (membersOfIdpGroups).
      "dynamodb:BatchGetItem,dynamodb:GetItem,dynamodb:PutItem,dynamodb:Query,dynamodb:UpdateItem -> Directory",
      "secretsmanager:DescribeSecret,secretsmanager:GetSecretValue -> OktaSecret",
      "sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage -> IngestQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> CommandsQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> DeparturesQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> IngestDeadLetterQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> IngestQueue",
    ]);
    expect(summary("OktaEventHookSendRole")).toEqual([
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> IngestQueue",
    ]);
    // The two apply functions differ only in the lane they read.
    for (const [fn, lane] of [
      ["ApplyFunction", "CommandsQueue"],
      ["DeparturesFunction", "DeparturesQueue"],
    ] as const) {
      expect(summary(fn)).toEqual([
        "dynamodb:BatchGetItem,dynamodb:GetItem,dynamodb:Query,dynamodb:UpdateItem -> Directory",
        "dynamodb:Scan -> Directory",
        "secretsmanager:DescribeSecret,secretsmanager:GetSecretValue -> TallyfySecret",
        `sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage -> ${lane}`,
        "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> CommandsDeadLetterQueue",
        "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> CommandsQueue",
        "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> DeparturesQueue",
      ]);
    }
  });
});

describe("rate budgets", () => {
  it("gives both reconcile lanes Tallyfy's budget less the full sync's, whatever their concurrency, and each ingest function its share of Okta's", () => {
    // Prepare
    const { template } = synth({
      ...context,
      tallyfyRequestsPerMinute: 900,
      applyMaxConcurrency: 3,
      ingestMaxConcurrency: 4,
    });
    const variables = (fragment: string) =>
      Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
        id.includes(fragment),
      )?.[1]?.Properties?.Environment?.Variables as Record<string, string>;

    // Assess
    // The full reconciliation keeps a tenth of Tallyfy's and of Okta's budget. The two lanes'
    // containers share the rest on one schedule in the directory, so none is divided up front.
    expect(variables("ApplyFunction").TALLYFY_REQUESTS_PER_MINUTE).toBe("810");
    expect(variables("DeparturesFunction").TALLYFY_REQUESTS_PER_MINUTE).toBe("810");
    // Joins book at most two seconds ahead; departures anywhere, so they come first.
    expect(variables("ApplyFunction").TALLYFY_BOOKING_HORIZON_MS).toBe("2000");
    expect(variables("DeparturesFunction").TALLYFY_BOOKING_HORIZON_MS).toBeUndefined();
    expect(variables("ApplyFunction").DIRECTORY_TABLE_NAME).toEqual(
      variables("DeparturesFunction").DIRECTORY_TABLE_NAME,
    );
    expect(variables("IngestFunction").OKTA_REQUESTS_PER_MINUTE).toBe("135");
    expect(variables("IngestFunction").TALLYFY_REQUESTS_PER_MINUTE).toBeUndefined();
    expect(variables("FullSyncFunction").TALLYFY_REQUESTS_PER_MINUTE).toBe("90");
    expect(variables("FullSyncFunction").OKTA_REQUESTS_PER_MINUTE).toBe("60");
  });

  it("gives the reconcile lanes the whole budget when the full reconciliation is off, and builds none of it", () => {
    // Prepare
    const { template } = synth({
      ...context,
      tallyfyRequestsPerMinute: 900,
      applyMaxConcurrency: 3,
      fullSync: { enabled: false },
    });

    // Assess
    template.resourceCountIs("AWS::StepFunctions::StateMachine", 0);
    template.resourceCountIs("AWS::Scheduler::Schedule", 0);
    template.resourceCountIs("AWS::S3::Bucket", 0);
    template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      { Environment: { Variables: Match.objectLike({ TALLYFY_REQUESTS_PER_MINUTE: "900" }) } },
      2,
    );
  });

  it("refuses a budget that is not a whole number of requests a minute", () => {
    // Act
    const error = (() => {
      try {
        parseAppConfig({ ...context, tallyfyRequestsPerMinute: 0.5 });
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(AppConfigError);
    expect(error?.message).toContain("tallyfyRequestsPerMinute: must be a whole number of requests a minute");
  });
});
