/**
 * The schedules' roles trust only this account's schedules, the API stages are traced when tracing
 * is on, and a full reconciliation that stops in any way (failed, timed out, aborted) alarms.
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { FULL_FEATURED_CONTEXT, synthFullFeatured } from "./full-featured.js";

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
    const alarm = Object.entries(template.findResources("AWS::CloudWatch::Alarm")).find(([id]) =>
      id.includes("FullSyncFailedAlarm"),
    )?.[1];
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
