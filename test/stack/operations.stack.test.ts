import { Annotations, Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { context, synth } from "./synth.js";

let built: ReturnType<typeof synth>;

beforeAll(() => {
  built = synth();
});

describe("operations", () => {
  it("alarms on dead letters, queue age, function errors and throttles, and directory throttling, notifying the topic", () => {
    // Prepare
    const { template } = built;
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const directoryAlarm = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes("ThrottledRequests"));

    // Assess
    expect(alarms.map((a) => a.MetricName).sort()).toEqual([
      "5XXError",
      "ApproximateAgeOfOldestMessage",
      "ApproximateAgeOfOldestMessage",
      "ApproximateAgeOfOldestMessage",
      // The ingest, reconcile, schedules' and EventBridge dead-letter queues.
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateNumberOfMessagesVisible",
      "DeparturesHeld",
      "Errors",
      "Errors",
      "Errors",
      // No full reconciliation succeeded for a day.
      "ExecutionsSucceeded",
      // The Okta Log Streaming rule's failed deliveries to the ingest queue.
      "FailedInvocations",
      "FullSyncCorrected",
      "FullSyncListingFailed",
      "FullSyncStopped",
      "Throttles",
      "Throttles",
      "Throttles",
      // Metric math: the directory's throttling, the full reconciliation's failed, timed-out and
      // aborted executions, and the Okta hook's hour of mostly refused requests and day of only
      // refused ones.
      undefined,
      undefined,
      undefined,
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

describe("the departure brake's alarm", () => {
  it("fires on the first held departure within a minute, and is not made when the brake is off", () => {
    // Prepare
    const off = synth({ ...context, sync: { ...context.sync, departureBrake: false } });
    const held = (template: ReturnType<typeof synth>["template"]) =>
      Object.values(template.findResources("AWS::CloudWatch::Alarm"))
        .map((a) => a.Properties)
        .filter((a) => a.MetricName === "DeparturesHeld");

    // Assess
    expect(held(built.template)).toEqual([
      expect.objectContaining({
        Namespace: "TallyfyIdpSync",
        Statistic: "Sum",
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      }),
    ]);
    expect(held(off.template)).toEqual([]);
  });
});
