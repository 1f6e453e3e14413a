/**
 * The schedules' roles trust only this account's schedules, the API stages are traced when tracing
 * is on, a full reconciliation that stops in any way (failed, timed out, aborted) alarms, and so
 * do a schedule that cannot start its target and a day without a successful run.
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { silenceWindowHours } from "../../lib/full-sync.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { FULL_FEATURED_CONTEXT, synthFullFeatured } from "./full-featured.js";

/** The alarm whose logical id holds `fragment`. */
function alarmNamed(template: Template, fragment: string) {
  return Object.entries(template.findResources("AWS::CloudWatch::Alarm")).find(([id]) =>
    id.includes(fragment),
  )?.[1];
}

interface Statement {
  readonly Principal?: { readonly Service?: string };
  readonly Condition?: Record<string, Record<string, unknown>>;
}

describe("the schedules' roles", () => {
  it("let only this account's schedules, in their schedule group, assume them", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const trusts = Object.values(template.findResources("AWS::IAM::Role"))
      .flatMap((role) => role.Properties.AssumeRolePolicyDocument.Statement as Statement[])
      .filter((statement) => statement.Principal?.Service === "scheduler.amazonaws.com");
    const groups = Object.values(template.findResources("AWS::Scheduler::Schedule")).map(
      (schedule) => schedule.Properties.GroupName ?? "default",
    );

    // Assess
    expect(trusts.length).toBeGreaterThanOrEqual(2);
    for (const trust of trusts) {
      expect(Object.keys(trust.Condition?.StringEquals ?? {}).sort()).toEqual([
        "aws:SourceAccount",
        "aws:SourceArn",
      ]);
      expect(JSON.stringify(trust.Condition?.StringEquals?.["aws:SourceArn"])).toContain(
        ":schedule-group/default",
      );
    }
    expect(new Set(groups)).toEqual(new Set(["default"]));
  });
});

describe("the API stages", () => {
  it("are traced when tracing is on, and not otherwise", () => {
    // Prepare
    const synth = (tracing: boolean) => {
      const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
      const stack = new TallyfyIdpSyncStack(app, "Test", {
        config: parseAppConfig({ ...FULL_FEATURED_CONTEXT, tracing }),
        env: { account: "111111111111", region: "eu-west-1" },
      });
      return Template.fromStack(stack);
    };

    // Act
    const traced = Object.values(synth(true).findResources("AWS::ApiGateway::Stage"));
    const untraced = Object.values(synth(false).findResources("AWS::ApiGateway::Stage"));

    // Assess
    expect(traced.length).toBe(4);
    expect(traced.map((stage) => stage.Properties.TracingEnabled)).toEqual([true, true, true, true]);
    expect(untraced.map((stage) => stage.Properties.TracingEnabled ?? false)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("the full reconciliation's failure alarm", () => {
  it("counts executions that failed, timed out or were aborted", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const alarm = alarmNamed(template, "FullSyncFailedAlarm");
    const metrics = (alarm?.Properties.Metrics ?? []) as {
      MetricStat?: { Metric: { MetricName: string } };
    }[];

    // Assess
    expect(metrics.flatMap((m) => m.MetricStat?.Metric.MetricName ?? []).sort()).toEqual([
      "ExecutionsAborted",
      "ExecutionsFailed",
      "ExecutionsTimedOut",
    ]);
  });
});

describe("a schedule that cannot start its target", () => {
  it("is retried for an hour, then kept in the schedules' dead-letter queue, which alarms on its first message", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const schedules = Object.values(template.findResources("AWS::Scheduler::Schedule"));
    const queues = template.findResources("AWS::SQS::Queue");
    const deadLetter = Object.keys(queues).find((id) => id.includes("SchedulesDeadLetterQueue"));
    const alarm = alarmNamed(template, "SchedulesDeadLettersAlarm");

    // Assess: the full reconciliation's, and the Entra and Google subscriptions' upkeep
    expect(schedules).toHaveLength(3);
    for (const schedule of schedules) {
      expect(schedule.Properties.Target.DeadLetterConfig).toEqual({
        Arn: { "Fn::GetAtt": [deadLetter, "Arn"] },
      });
      expect(schedule.Properties.Target.RetryPolicy).toEqual({
        MaximumEventAgeInSeconds: 3600,
        MaximumRetryAttempts: 10,
      });
    }
    expect(queues[deadLetter ?? ""]?.Properties.SqsManagedSseEnabled).toBe(true);
    expect(alarm?.Properties.Dimensions).toEqual([
      { Name: "QueueName", Value: { "Fn::GetAtt": [deadLetter, "QueueName"] } },
    ]);
  });
});

describe("the full reconciliation's silence alarm", () => {
  it("fires when no run succeeded for a day and the 12 hours a run may last, an hour without data counted", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const alarm = alarmNamed(template, "FullSyncSilentAlarm");

    // Assess
    expect(alarm?.Properties).toMatchObject({
      MetricName: "ExecutionsSucceeded",
      Namespace: "AWS/States",
      Period: 3600,
      EvaluationPeriods: 36,
      ComparisonOperator: "LessThanThreshold",
      Threshold: 1,
      TreatMissingData: "breaching",
    });
  });

  it("watches the schedule it is given: its interval and a run's time, and nothing it cannot watch", () => {
    // Act
    const windows = [
      "rate(1 day)",
      "rate(6 hours)",
      "rate(30 minutes)",
      "rate(7 days)",
      "cron(0 2 * * ? *)",
      "cron(0 2 ? * MON *)",
      "cron(0 2 ? * MON-FRI *)",
      "cron(0 6 ? * 2,4,6 *)",
      "cron(0 2 ? * FRI-MON *)",
      "cron(0 2 ? * 6#3 *)",
      "at(2027-01-01T00:00:00)",
    ].map((expression) => [expression, silenceWindowHours(expression)]);

    // Assess
    expect(windows).toEqual([
      ["rate(1 day)", 36],
      ["rate(6 hours)", 18],
      ["rate(30 minutes)", 13],
      ["rate(7 days)", undefined],
      ["cron(0 2 * * ? *)", 36],
      ["cron(0 2 ? * MON *)", undefined],
      // Weekdays: Friday to Monday is the longest gap; Monday, Wednesday, Friday: Friday to Monday.
      ["cron(0 2 ? * MON-FRI *)", 84],
      ["cron(0 6 ? * 2,4,6 *)", 84],
      ["cron(0 2 ? * FRI-MON *)", 108],
      // The third Friday of the month: rarer than weekly.
      ["cron(0 2 ? * 6#3 *)", undefined],
      ["at(2027-01-01T00:00:00)", undefined],
    ]);
  });
});

describe("the region's API Gateway logging role", () => {
  it("is set once for the stack, however many of its APIs log, and every stage waits for it", () => {
    // Prepare: the Okta hook, the Entra and Google webhooks and SCIM, with create-account-role
    const template = synthFullFeatured();

    // Act
    const accounts = Object.entries(template.findResources("AWS::ApiGateway::Account"));
    const stages = Object.values(template.findResources("AWS::ApiGateway::Stage"));
    const roles = Object.values(template.findResources("AWS::IAM::Role")).filter((role) =>
      JSON.stringify(role.Properties.ManagedPolicyArns ?? []).includes(
        "AmazonAPIGatewayPushToCloudWatchLogs",
      ),
    );

    // Assess
    expect(accounts).toHaveLength(1);
    expect(roles).toHaveLength(1);
    expect(stages).toHaveLength(4);
    for (const stage of stages) expect(stage.DependsOn).toEqual(expect.arrayContaining([accounts[0]?.[0]]));
    expect(accounts[0]?.[1].DeletionPolicy).toBe("Retain");
  });
});

describe("the drift-report bucket", () => {
  it("keeps a report overwritten or deleted one more day, so no report's data outlives the retention by more", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const bucket = Object.entries(template.findResources("AWS::S3::Bucket")).find(([id]) =>
      id.includes("FullSyncReports"),
    )?.[1];

    // Assess
    expect(bucket?.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(bucket?.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({
        Prefix: "reports/",
        ExpirationInDays: 90,
        // Expiration only hides a versioned report: its data goes with the noncurrent version.
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: "Enabled",
      }),
    ]);
    expect(bucket?.DeletionPolicy).toBe("Retain");
  });
});
