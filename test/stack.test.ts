import { App, Duration, Stack, aws_secretsmanager as secretsmanager, aws_sqs as sqs } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { AppConfigError, parseAppConfig } from "../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../lib/stack.js";
import { TallyfyIdpSync, TallyfyIdpSyncPropsError } from "../lib/tallyfy-idp-sync.js";

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

function synth(config: Record<string, unknown> = context, bundle = false) {
  // Skipping bundling keeps these tests fast; one test below bundles for real.
  const app = new App({ context: bundle ? {} : { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(config),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return { app, stack, template: Template.fromStack(stack) };
}

let built: ReturnType<typeof synth>;

beforeAll(() => {
  built = synth();
});

describe("queues", () => {
  it("has a standard ingest queue and a high-throughput FIFO commands queue, each redriving to its own dead-letter queue", () => {
    // Prepare
    const { template } = built;
    const queues = template.findResources("AWS::SQS::Queue");
    const byName = (fragment: string) =>
      Object.entries(queues).find(([id]) => id.includes(fragment))?.[1]?.Properties;

    // Assess
    // The four of the pipeline, and the EventBridge rules' dead-letter queue.
    expect(Object.keys(queues)).toHaveLength(5);
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
    expect(byName("SyncCommandsQueue")?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [expect.stringContaining("CommandsDeadLetterQueue"), "Arn"] },
      maxReceiveCount: 5,
    });
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
    expect(denyPlainText).toHaveLength(5);
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
  it("runs the three handlers on nodejs24.x arm64 and keeps the secret's value out of the environment", () => {
    // Prepare
    const { template } = built;

    // Assess: ingest, apply and the full reconciliation.
    template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      { Runtime: "nodejs24.x", Architectures: ["arm64"] },
      3,
    );
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          TALLYFY_ORG_ID: "org-123",
          TALLYFY_SECRET_ID: { Ref: Match.stringLikeRegexp("TallyfySecret") },
          MAX_RECEIVE_COUNT: "5",
          SYNC_CONFIG: Match.serializedJson(
            Match.objectLike({ memberDomains: ["example.com"], defaultRole: "standard" }),
          ),
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
    expect(modes(traced)).toEqual(["Active", "Active", "Active"]);
    expect(modes(built.template)).toEqual([undefined, undefined, undefined]);
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
            `${[s.Action].flat().sort().join(",")} -> ${JSON.stringify(s.Resource).match(/(Ingest|Commands)(DeadLetter)?Queue|TallyfySecret|OktaSecret|Directory/)?.[0]}`,
        )
        .sort();

    // Assess
    // The reconcile queue keeps the logical id `CommandsQueue`, so updating a stack never replaces it.
    expect(summary("IngestFunction")).toEqual([
      "dynamodb:GetItem,dynamodb:PutItem,dynamodb:UpdateItem -> Directory",
      "secretsmanager:DescribeSecret,secretsmanager:GetSecretValue -> OktaSecret",
      "sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage -> IngestQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> CommandsQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> IngestDeadLetterQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> IngestQueue",
    ]);
    expect(summary("OktaEventHookSendRole")).toEqual([
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> IngestQueue",
    ]);
    expect(summary("ApplyFunction")).toEqual([
      "dynamodb:BatchGetItem,dynamodb:GetItem,dynamodb:Query,dynamodb:UpdateItem -> Directory",
      "secretsmanager:DescribeSecret,secretsmanager:GetSecretValue -> TallyfySecret",
      "sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage -> CommandsQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> CommandsDeadLetterQueue",
      "sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> CommandsQueue",
    ]);
  });
});

describe("the webhook endpoint's logs and alarms", () => {
  it("leaves the region's API Gateway account setting alone unless asked, and logs nothing without its role", () => {
    // Prepare
    const { template } = built;
    const [stage] = Object.values(template.findResources("AWS::ApiGateway::Stage")).map((r) => r.Properties);

    // Assess
    template.resourceCountIs("AWS::ApiGateway::Account", 0);
    expect(stage?.AccessLogSetting).toBeUndefined();
    expect(JSON.stringify(stage?.MethodSettings ?? [])).not.toContain("LoggingLevel");
  });

  it("logs to log groups the stack owns when the region's role exists, and sets the role only when told", () => {
    // Prepare
    const existing = synth({ ...context, apiLogging: "account-role-exists" }).template;
    const created = synth({ ...context, apiLogging: "create-account-role" }).template;

    // Assess
    existing.resourceCountIs("AWS::ApiGateway::Account", 0);
    existing.hasResourceProperties("AWS::ApiGateway::Stage", {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: "ERROR", DataTraceEnabled: false })]),
    });
    existing.hasResource("AWS::Logs::LogGroup", {
      DeletionPolicy: "Delete",
      Properties: {
        LogGroupName: {
          "Fn::Join": ["", ["API-Gateway-Execution-Logs_", { Ref: Match.stringLikeRegexp("Api") }, "/okta"]],
        },
        RetentionInDays: 30,
      },
    });
    created.resourceCountIs("AWS::ApiGateway::Account", 1);
    // Kept when the stack goes, so the region's other APIs keep logging.
    created.hasResource("AWS::ApiGateway::Account", { DeletionPolicy: "Retain" });
  });

  it("admits only the configured address ranges, and puts a WAF web ACL on the stage, when asked", () => {
    // Prepare
    const webAclArn = "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/okta-hook/abc";
    const guarded = synth({
      ...context,
      endpointAllowedCidrs: ["203.0.113.0/24"],
      endpointWebAclArn: webAclArn,
    });

    // Assess
    guarded.template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      Policy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "execute-api:Invoke",
            Condition: { NotIpAddress: { "aws:SourceIp": ["203.0.113.0/24"] } },
          }),
        ]),
      },
    });
    guarded.template.hasResourceProperties("AWS::WAFv2::WebACLAssociation", { WebACLArn: webAclArn });
    built.template.resourceCountIs("AWS::WAFv2::WebACLAssociation", 0);
    expect(() => synth({ ...context, endpointAllowedCidrs: ["okta"] })).toThrow(/endpointAllowedCidrs/);
  });

  it("names the API after its stack, so its alarms count this stack's requests only", () => {
    // Prepare
    const { template } = built;
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const apiAlarms = alarms.filter((a) => a.Namespace === "AWS/ApiGateway");

    // Assess
    const [api] = Object.values(template.findResources("AWS::ApiGateway::RestApi")).map((r) => r.Properties);
    expect(api?.Name).toMatch(/^Test-Sync-OktaEventHook-[0-9A-F]{8}$/);
    expect(apiAlarms).toHaveLength(2);
    for (const alarm of apiAlarms) expect(alarm.Dimensions).toEqual([{ Name: "ApiName", Value: api?.Name }]);
  });
});

describe("operations", () => {
  it("alarms on dead letters, queue age, function errors and throttles, and directory throttling, notifying the topic", () => {
    // Prepare
    const { template } = built;
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const directoryAlarm = alarms.find((a) => a.MetricName === undefined);

    // Assess
    expect(alarms.map((a) => a.MetricName).sort()).toEqual([
      "4XXError",
      "5XXError",
      "ApproximateAgeOfOldestMessage",
      "ApproximateAgeOfOldestMessage",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "Errors",
      "Errors",
      // The full reconciliation's state machine, and what its runs measure.
      "ExecutionsFailed",
      // The Okta Log Streaming rule's failed deliveries to the ingest queue.
      "FailedInvocations",
      "FullSyncCorrected",
      "FullSyncListingFailed",
      "FullSyncStopped",
      "Throttles",
      "Throttles",
      undefined,
    ]);
    // The directory's alarm sums ThrottledRequests over the operations the functions use.
    expect(JSON.stringify(directoryAlarm?.Metrics)).toContain("ThrottledRequests");
    expect(alarms.every((a) => a.AlarmActions?.[0]?.Ref?.includes("AlarmTopic"))).toBe(true);
    // The TLS-only topic policy replaces SNS's default one: CloudWatch must be allowed again.
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Condition: Match.objectLike({ StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } }),
          }),
        ]),
      },
    });
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
  });

  it("routes the identity provider's EventBridge events to the ingest queue, retrying for a day, then to a dead-letter queue", () => {
    // Prepare
    const { template } = built;
    const rules = Object.values(template.findResources("AWS::Events::Rule")).map((r) => r.Properties);

    // Assess
    template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: "aws.partner/okta.com/acme/tallyfy",
      EventPattern: { source: [{ prefix: "aws.partner/okta.com" }] },
      Targets: [{ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("IngestQueue"), "Arn"] } }],
    });
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.Targets).toEqual([
        expect.objectContaining({
          DeadLetterConfig: {
            Arn: { "Fn::GetAtt": [expect.stringMatching(/EventBridgeDeadLetterQueue/), "Arn"] },
          },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ]);
    }
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage" }),
        ]),
      },
      Queues: [{ Ref: Match.stringLikeRegexp("EventBridgeDeadLetterQueue") }],
    });
  });

  it("gives your own producers a bus of their own, and warns against the default bus", () => {
    // Prepare
    const pattern = { source: ["hr.feed"] };
    const own = synth({ ...context, eventBridge: { eventPattern: pattern } });
    const onDefault = synth({ ...context, eventBridge: { eventBusName: "default", eventPattern: pattern } });
    const warnings = Annotations.fromStack(onDefault.stack).findWarning(
      "*",
      Match.stringLikeRegexp("default bus"),
    );

    // Assess
    own.template.hasResourceProperties("AWS::Events::EventBus", {
      Name: Match.stringLikeRegexp("^Test-Sync-[0-9A-F]{8}-identity-events$"),
    });
    own.template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: Match.stringLikeRegexp("IdentityEvents") },
      EventPattern: pattern,
    });
    expect(Object.keys(own.template.findOutputs("*")).some((o) => o.includes("IdentityEventBusName"))).toBe(
      true,
    );
    onDefault.template.resourceCountIs("AWS::Events::EventBus", 0);
    expect(warnings).toHaveLength(1);
  });

  it("outputs the queue URLs and ARNs", () => {
    // Prepare
    const outputs = Object.keys(built.template.findOutputs("*"));

    // Assess
    for (const name of [
      "IngestQueueUrl",
      "IngestQueueArn",
      "ReconcileQueueUrl",
      "ReconcileQueueArn",
      "IngestDeadLetterQueueUrl",
      "ReconcileDeadLetterQueueArn",
      "DirectoryTableName",
      "TallyfySecretArn",
    ]) {
      expect(outputs.some((o) => o.includes(name))).toBe(true);
    }
  });
});

describe("sources by registry id", () => {
  it("builds the same ingress from sources.okta as from the okta alias", () => {
    // Prepare
    const build = (props: Partial<ConstructorParameters<typeof TallyfyIdpSync>[2]>) => {
      const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Sources");
      new TallyfyIdpSync(stack, "Sync", { syncConfig: {}, tallyfyOrganizationId: "org", ...props });
      const template = Template.fromStack(stack).toJSON();
      return Object.entries(template.Resources as Record<string, { Type: string }>)
        .map(([id, r]) => `${id.replace(/[0-9A-F]{8}$/, "")} ${r.Type}`)
        .sort();
    };

    // Act
    const viaAlias = build({ okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/a/b" } });
    const viaSources = build({
      sources: { okta: { endpoint: true, eventBusName: "aws.partner/okta.com/a/b" } },
    });

    // Assess
    expect(viaSources).toEqual(viaAlias);
    expect(viaSources).toEqual(expect.arrayContaining(["SyncOktaLogStreamRule AWS::Events::Rule"]));
    expect(viaSources.some((r) => r.startsWith("SyncOktaEventHookApi") && r.endsWith("RestApi"))).toBe(true);
  });

  it("refuses a source id the registry does not have, and a bus outside the source's partner prefix", () => {
    // Act
    const attempt = () =>
      new TallyfyIdpSync(
        new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Unknown"),
        "Sync",
        {
          syncConfig: {},
          tallyfyOrganizationId: "org",
          sources: { onelogin: { endpoint: true }, okta: { eventBusName: "default" } },
        },
      );

    // Assess
    expect(attempt).toThrow(/sources\.onelogin: no identity source "onelogin" is registered/);
    expect(attempt).toThrow(/sources\.okta\.eventBusName: must be the okta partner bus/);
  });
});

describe("Okta", () => {
  const methods = () =>
    Object.values(built.template.findResources("AWS::ApiGateway::Method")).map((m) => m.Properties);

  it("answers Okta's verification GET from a mock, echoing the challenge, never reaching the queue", () => {
    // Prepare
    const get = methods().find((m) => m.HttpMethod === "GET");

    // Assess
    expect(get).toMatchObject({
      AuthorizationType: "NONE",
      RequestParameters: { "method.request.header.X-Okta-Verification-Challenge": true },
      Integration: { Type: "MOCK" },
    });
    expect(get?.Integration.IntegrationResponses[0].ResponseTemplates["application/json"]).toBe(
      '{"verification": "$util.escapeJavaScript($input.params(\'X-Okta-Verification-Challenge\'))"}',
    );
  });

  it("requires the API key on POST and sends the body unchanged to the ingest queue", () => {
    // Prepare
    const post = methods().find((m) => m.HttpMethod === "POST");

    // Assess
    expect(post).toMatchObject({
      ApiKeyRequired: true,
      Integration: { Type: "AWS", PassthroughBehavior: "NEVER" },
    });
    expect(JSON.stringify(post?.Integration.Uri)).toContain(":sqs:path/111111111111/");
    expect(post?.Integration.RequestTemplates["application/json"]).toContain(
      "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
    );
    expect(post?.RequestValidatorId).toBeDefined();
    expect(post?.RequestModels["application/json"]).toBeDefined();
  });

  it("throttles the stage and keeps the API key's value out of the template", () => {
    // Prepare
    const { template } = built;

    // Assess
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, DataTraceEnabled: false }),
      ],
    });
    const keys = Object.values(template.findResources("AWS::ApiGateway::ApiKey"));
    expect(keys).toHaveLength(1);
    expect(keys[0]?.Properties.Value).toBeUndefined();
    template.resourceCountIs("AWS::ApiGateway::UsagePlanKey", 1);
  });

  it("routes Okta Log Streaming's handled, successful events from the partner bus", () => {
    // Assess
    built.template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: "aws.partner/okta.com/acme/log-stream",
      EventPattern: {
        source: [{ prefix: "aws.partner/okta.com/" }],
        "detail-type": ["SystemLog"],
        detail: {
          eventType: Match.arrayWith(["group.user_membership.add", "user.lifecycle.deactivate"]),
          outcome: { result: ["SUCCESS"] },
        },
      },
    });
  });

  it("gives the ingest function the Okta secret's ARN, not its value, and outputs the webhook URL", () => {
    // Prepare
    const { template } = built;
    const ingest = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
      id.includes("IngestFunction"),
    )?.[1];
    const outputs = Object.keys(template.findOutputs("*"));

    // Assess
    expect(ingest?.Properties.Environment.Variables.OKTA_SECRET_ID).toEqual({
      Ref: expect.stringContaining("OktaSecret"),
    });
    for (const name of ["OktaEventHookUrl", "OktaEventHookApiKeyCommand", "OktaSecretArn"])
      expect(outputs.some((o) => o.includes(name))).toBe(true);
  });
});

describe("SCIM", () => {
  const scimContext = { ...context, scim: { enabled: true } };
  let scim: ReturnType<typeof synth>;
  const scimFunction = (template: Template) =>
    Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
      id.includes("ScimFunction"),
    )?.[1];

  beforeAll(() => {
    scim = synth(scimContext);
  });

  it("gives the SCIM function the token secret's ARN, never a token, and none of the pipeline's variables", () => {
    // Prepare
    const { template } = scim;
    const variables = scimFunction(template)?.Properties.Environment.Variables;
    const secret = Object.entries(template.findResources("AWS::SecretsManager::Secret")).find(([id]) =>
      id.includes("ScimTokenSecret"),
    )?.[1];

    // Assess
    expect(variables).toEqual({
      DIRECTORY_TABLE_NAME: { Ref: expect.stringContaining("DirectoryTable") },
      INGEST_QUEUE_URL: { Ref: expect.stringContaining("IngestQueue") },
      SCIM_TOKEN_SECRET_ID: { Ref: expect.stringContaining("ScimTokenSecret") },
      POWERTOOLS_SERVICE_NAME: "tallyfy-idp-sync",
      POWERTOOLS_METRICS_NAMESPACE: "TallyfyIdpSync",
      NODE_OPTIONS: "--enable-source-maps",
    });
    // Generated by Secrets Manager at deployment: the template holds no value, and it outlives the stack.
    expect(secret).toMatchObject({
      DeletionPolicy: "Retain",
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
    });
    expect(secret?.Properties.SecretString).toBeUndefined();
    expect(secret?.Properties.GenerateSecretString.SecretStringTemplate).toBeUndefined();
  });

  it("lets the SCIM function touch only scim# items, send to the ingest queue and read its token", () => {
    // Prepare
    const { template } = scim;
    const statements = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.includes("ScimFunctionRole"),
    )?.[1]?.Properties.PolicyDocument.Statement as {
      Action: string | string[];
      Resource: unknown;
      Condition?: unknown;
    }[];
    const dynamodb = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("dynamodb:")));

    // Assess
    expect(dynamodb).toEqual([
      {
        Effect: "Allow",
        Action: expect.any(Array),
        Resource: { "Fn::GetAtt": [expect.stringContaining("DirectoryTable"), "Arn"] },
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["scim#*"] } },
      },
    ]);
    expect([dynamodb[0]?.Action].flat().sort()).toEqual([
      "dynamodb:BatchGetItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    expect(
      statements
        .filter((s) => s !== dynamodb[0])
        .map((s) => `${[s.Action].flat().sort().join(",")} -> ${JSON.stringify(s.Resource)}`)
        .sort(),
    ).toEqual([
      expect.stringMatching(
        /^secretsmanager:DescribeSecret,secretsmanager:GetSecretValue -> .*ScimTokenSecret/,
      ),
      expect.stringMatching(/^sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage -> .*IngestQueue0/),
    ]);
  });

  it("sends every request under /scim/v2/ to the function, through a throttled stage with access logs", () => {
    // Prepare
    const { template } = synth({ ...scimContext, apiLogging: "account-role-exists" });
    const resources = template.findResources("AWS::ApiGateway::Resource");
    const scimResources = Object.entries(resources)
      .filter(([id]) => id.includes("Scim"))
      .map(([, r]) => r.Properties.PathPart);
    const stage = Object.entries(template.findResources("AWS::ApiGateway::Stage")).find(([id]) =>
      id.includes("Scim"),
    )?.[1]?.Properties;

    // Assess
    expect(scimResources.sort()).toEqual(["v2", "{proxy+}"]);
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "ANY",
      ResourceId: { Ref: Match.stringLikeRegexp("ScimApiv2proxy") },
      Integration: { Type: "AWS_PROXY", IntegrationHttpMethod: "POST" },
    });
    expect(stage).toMatchObject({
      StageName: "scim",
      AccessLogSetting: {
        DestinationArn: { "Fn::GetAtt": [expect.stringContaining("ScimAccessLogs"), "Arn"] },
      },
      MethodSettings: [
        {
          HttpMethod: "*",
          ResourcePath: "/*",
          ThrottlingRateLimit: 25,
          ThrottlingBurstLimit: 50,
          LoggingLevel: "ERROR",
          DataTraceEnabled: false,
        },
      ],
    });
  });

  it("throttles the stage as configured", () => {
    // Prepare
    const { template } = synth({
      ...context,
      scim: { enabled: true, throttlingRateLimit: 5, throttlingBurstLimit: 10 },
    });

    // Assess
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      StageName: "scim",
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 })],
    });
  });

  it("sets the region's API Gateway logging role once when a webhook endpoint sets it too", () => {
    // Prepare
    const { template } = synth({ ...scimContext, apiLogging: "create-account-role" });
    const scimStage = Object.entries(template.findResources("AWS::ApiGateway::Stage")).find(([id]) =>
      id.includes("Scim"),
    )?.[1];

    // Assess
    template.resourceCountIs("AWS::ApiGateway::Account", 1);
    // It logs only once the role is set, or CloudFormation refuses the stage.
    expect(scimStage?.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/ApiAccount/)]));
    expect(scimStage?.Properties.AccessLogSetting).toBeDefined();
  });

  it("outputs the base URL, the token secret's ARN and the command that prints the token", () => {
    // Prepare
    const outputs = scim.template.findOutputs("*");
    const output = (name: string) => Object.entries(outputs).find(([id]) => id.includes(name))?.[1];
    const join = (name: string) => output(name)?.Value["Fn::Join"][1] as unknown[];

    // Assess
    expect(join("ScimBaseUrl")?.[0]).toBe("https://");
    expect(join("ScimBaseUrl")?.at(-1)).toBe("/v2");
    expect(join("ScimBaseUrl")).toContainEqual({
      Ref: expect.stringContaining("ScimApiDeploymentStagescim"),
    });
    expect(output("ScimTokenSecretArn")?.Value).toEqual({ Ref: expect.stringContaining("ScimTokenSecret") });
    expect(join("ScimTokenCommand")).toEqual([
      "aws secretsmanager get-secret-value --secret-id ",
      { Ref: expect.stringContaining("ScimTokenSecret") },
      " --query SecretString --output text",
    ]);
  });

  it("alarms on any 5xx, on many 4xx and on a slow p99, notifying the topic", () => {
    // Prepare
    const alarms = Object.entries(scim.template.findResources("AWS::CloudWatch::Alarm"))
      .filter(([id]) => id.includes("Scim"))
      .map(([, a]) => a.Properties);
    const byMetric = (name: string) => alarms.find((a) => a.MetricName === name);
    const [api] = Object.entries(scim.template.findResources("AWS::ApiGateway::RestApi"))
      .filter(([id]) => id.includes("Scim"))
      .map(([, r]) => r.Properties.Name);

    // Assess
    expect(alarms).toHaveLength(3);
    expect(byMetric("5XXError")).toMatchObject({
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 1,
    });
    expect(byMetric("4XXError")).toMatchObject({
      Statistic: "Sum",
      Period: 300,
      Threshold: 20,
      ComparisonOperator: "GreaterThanThreshold",
    });
    expect(byMetric("Latency")).toMatchObject({
      ExtendedStatistic: "p99",
      Period: 300,
      Threshold: 5000,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 3,
    });
    for (const alarm of alarms) {
      expect(alarm.Dimensions).toEqual([{ Name: "ApiName", Value: api }]);
      expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringContaining("AlarmTopic") }]);
    }
    expect(JSON.stringify(scim.template.findResources("AWS::CloudWatch::Dashboard"))).toContain(
      "SCIM endpoint",
    );
  });

  it("uses an existing token secret when given one, and generates none", () => {
    // Prepare
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Existing");
    const tokenSecret = secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      "Token",
      "arn:aws:secretsmanager:eu-west-1:111111111111:secret:scim-token-AbCdEf",
    );

    // Act
    const sync = new TallyfyIdpSync(stack, "Sync", {
      syncConfig: {},
      tallyfyOrganizationId: "org",
      scim: { enabled: true, tokenSecret },
    });
    const template = Template.fromStack(stack);

    // Assess
    expect(sync.scim?.tokenSecret).toBe(tokenSecret);
    expect(scimFunction(template)?.Properties.Environment.Variables.SCIM_TOKEN_SECRET_ID).toBe(
      tokenSecret.secretArn,
    );
    expect(Object.keys(template.findResources("AWS::SecretsManager::Secret"))).toEqual([
      expect.stringContaining("TallyfySecret"),
    ]);
  });

  it("builds nothing for SCIM unless enabled", () => {
    // Prepare
    const off = synth({ ...context, scim: { enabled: false } });
    const scimIds = (template: Template) =>
      [
        ...Object.keys(template.toJSON().Resources as object),
        ...Object.keys(template.findOutputs("*")),
      ].filter((id) => /scim/i.test(id));

    // Assess
    expect(scimIds(scim.template).length).toBeGreaterThan(0);
    for (const { template, stack } of [built, off]) {
      expect(scimIds(template)).toEqual([]);
      expect(stack.sync.scim).toBeUndefined();
      expect(JSON.stringify(template.toJSON())).not.toContain("SCIM_TOKEN_SECRET_ID");
    }
  });

  it("finds nothing unacknowledged in the AwsSolutions pack with SCIM on, logs off, no address ranges", () => {
    // Prepare
    const { stack } = scim;

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(", ")}`,
      ),
    ).toEqual([]);
  });
});

describe("cdk-nag", () => {
  it("finds nothing unacknowledged with every optional feature on, the endpoints' logs included", () => {
    // Prepare
    const { stack } = synth({
      ...context,
      apiLogging: "create-account-role",
      ingestMaxConcurrency: 3,
      tracing: true,
      scim: { enabled: true },
      endpointAllowedCidrs: ["203.0.113.0/24"],
      endpointWebAclArn: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/okta-hook/abc",
    });

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it("finds nothing unacknowledged in the AwsSolutions pack, bundled for real", () => {
    // Prepare
    const { stack } = synth(context, true);

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(", ")}`,
      ),
    ).toEqual([]);
  });

  it("does flag a queue without a dead-letter queue or TLS policy, so the check above can fail", () => {
    // Prepare
    const bare = new Stack(new App(), "Unacknowledged");
    new sqs.Queue(bare, "PlainQueue");

    // Act
    const report = new AwsSolutionsChecks().validateScope(bare);

    // Assess
    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(["AwsSolutions-SQS3", "AwsSolutions-SQS4"]),
    );
  });
});

describe("configuration errors", () => {
  it.each([
    [
      { ...context, sync: { ...context.sync, roles: { owner: ["X"] } } },
      "tallyfyIdpSync.sync.roles: unknown key(s) owner",
    ],
    [{ ...context, tallyfy: {} }, "tallyfyIdpSync.tallyfy.organizationId:"],
    [
      { ...context, tallyfy: { organizationId: "o", apiUrl: "https://me:pw@go.tallyfy.com/api" } },
      "tallyfyIdpSync.tallyfy.apiUrl: must not contain a user name or password",
    ],
    [
      { ...context, sync: { ...context.sync, memberDomains: ["example com"] } },
      "tallyfyIdpSync.sync.memberDomains.0: must be a domain name",
    ],
    [{ ...context, maxReceiveCount: 1 }, "tallyfyIdpSync.maxReceiveCount:"],
    [{ ...context, sync: { ...context.sync, defaultRole: "owner" } }, "tallyfyIdpSync.sync.defaultRole:"],
    [
      { ...context, okta: { logStreamEventBusName: "default" } },
      "tallyfyIdpSync.okta.logStreamEventBusName: must be the Okta partner bus",
    ],
    [
      { ...context, sync: { ...context.sync, okta: { attributes: { phone: [], team: 3 } } } },
      "tallyfyIdpSync.sync.okta.attributes.team:",
    ],
    [
      { ...context, scim: { enabled: true, throttlingRateLimit: 0 } },
      "tallyfyIdpSync.scim.throttlingRateLimit: must be over 0",
    ],
    [
      { ...context, scim: { enabled: true, throttlingBurstLimit: 10_000 } },
      "tallyfyIdpSync.scim.throttlingBurstLimit: must be a whole number from 1 to 5000",
    ],
    [{ ...context, scim: { enabled: true, tokenSecretArn: "x" } }, "tallyfyIdpSync.scim: unknown key"],
  ])("fails synth naming the bad key (%#)", (config, expected) => {
    // Act
    const error = (() => {
      try {
        synth(config);
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(AppConfigError);
    expect(error?.message).toContain(expected);
  });

  it("reports every invalid construct prop in one error", () => {
    // Prepare
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Props");

    // Act
    const error = (() => {
      try {
        new TallyfyIdpSync(stack, "Sync", {
          syncConfig: { defaultRole: "owner" as never },
          tallyfyOrganizationId: " ",
          applyTimeout: Duration.hours(1),
          applyMaxConcurrency: 1,
          scim: { enabled: true, throttlingRateLimit: -1, throttlingBurstLimit: 2.5 },
        });
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(TallyfyIdpSyncPropsError);
    for (const key of [
      "syncConfig: defaultRole",
      "tallyfyOrganizationId",
      "applyTimeout",
      "applyMaxConcurrency",
      "scim.throttlingRateLimit: must be over 0",
      "scim.throttlingBurstLimit: must be a whole number from 1 to 5000",
    ])
      expect(error?.message).toContain(key);
  });
});

describe("rate budgets", () => {
  it("gives each apply function its share of Tallyfy's budget, and each ingest function its share of Okta's", () => {
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
    // The full reconciliation keeps a tenth of Tallyfy's and of Okta's budget; events the rest.
    expect(variables("ApplyFunction").TALLYFY_REQUESTS_PER_MINUTE).toBe("270");
    expect(variables("IngestFunction").OKTA_REQUESTS_PER_MINUTE).toBe("135");
    expect(variables("IngestFunction").TALLYFY_REQUESTS_PER_MINUTE).toBeUndefined();
    expect(variables("FullSyncFunction").TALLYFY_REQUESTS_PER_MINUTE).toBe("90");
    expect(variables("FullSyncFunction").OKTA_REQUESTS_PER_MINUTE).toBe("60");
  });

  it("gives the apply functions the whole budget when the full reconciliation is off, and builds none of it", () => {
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
      { Environment: { Variables: Match.objectLike({ TALLYFY_REQUESTS_PER_MINUTE: "300" }) } },
      1,
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

describe("full reconciliation", () => {
  it("starts a run daily, steps the function until done, and keeps reports encrypted, TLS-only and expiring", () => {
    // Prepare
    const { template } = built;

    // Assess
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(1 day)",
      State: "ENABLED",
      Target: Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp("FullSyncStateMachine") } }),
    });
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: false }),
    });
    // The loop: the step, then "done?" back to the step until the run says so.
    const definition = JSON.stringify(
      Object.values(template.findResources("AWS::StepFunctions::StateMachine"))[0]?.Properties
        .DefinitionString,
    );
    expect(definition).toContain('\\"Choices\\":[{\\"Variable\\":\\"$.done\\",\\"BooleanEquals\\":true');
    expect(definition).toContain('\\"Default\\":\\"Step\\"');
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Prefix: "reports/", ExpirationInDays: 90, Status: "Enabled" })],
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      }),
    });
    const outputs = Object.keys(template.findOutputs("*"));
    expect(outputs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/FullSyncReportBucket/),
        expect.stringMatching(/FullSyncStateMachineArn/),
      ]),
    );
  });

  it("lets the function put reports only, and read and write the directory as ingest and the run's scan need", () => {
    // Prepare
    const { template } = built;
    const policies = Object.entries(template.findResources("AWS::IAM::Policy"))
      .filter(([id]) => id.includes("FullSyncFunction"))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]);
    const actions = policies.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

    // Assess
    expect(actions.filter((a) => a.startsWith("s3:"))).toEqual(["s3:PutObject"]);
    expect(actions).toEqual(
      expect.arrayContaining(["dynamodb:Scan", "dynamodb:UpdateItem", "sqs:SendMessage"]),
    );
    expect(actions.filter((a) => a.startsWith("dynamodb:Delete") || a === "dynamodb:*")).toEqual([]);
  });

  it("refuses a schedule that is not an EventBridge Scheduler expression, and a share over 1", () => {
    // Act
    const error = (() => {
      try {
        parseAppConfig({ ...context, fullSync: { schedule: "daily", maxDepartureShare: 5 } });
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error?.message).toMatch(/fullSync\.schedule: must be an EventBridge Scheduler expression/);
    expect(error?.message).toMatch(/fullSync\.maxDepartureShare: must be over 0 and at most 1/);
  });
});
