/**
 * A staging and a production stack in one account and region keep their custom metrics, alarms
 * and dashboards apart: every custom metric carries its stack's name as its `service` dimension,
 * which the functions emit (POWERTOOLS_SERVICE_NAME) and the alarms and dashboard read.
 */
import { execFileSync } from "node:child_process";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { METRICS_NAMESPACE } from "../../handlers/contracts/metrics.js";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { FULL_FEATURED_CONTEXT } from "./full-featured.js";

/** Each custom metric's `service` dimension an alarm or the dashboard reads, and each function's. */
function services(template: Template) {
  const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).flatMap((alarm) => {
    const { Namespace, Dimensions, Metrics } = alarm.Properties;
    const stats = [
      { Namespace, Dimensions },
      ...((Metrics ?? []) as { MetricStat?: { Metric: { Namespace: string; Dimensions: unknown } } }[]).map(
        (m) => m.MetricStat?.Metric ?? {},
      ),
    ] as { Namespace?: string; Dimensions?: { Name: string; Value: unknown }[] }[];
    return stats
      .filter((metric) => metric.Namespace === METRICS_NAMESPACE)
      .map((metric) => metric.Dimensions?.find((d) => d.Name === "service")?.Value);
  });
  const dashboard = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard")));
  const functions = Object.values(template.findResources("AWS::Lambda::Function"))
    .map((f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
    .filter((name) => name !== undefined);
  return { alarms, dashboard, functions };
}

describe("two stacks in one account and region", () => {
  it("key every custom metric, alarm and dashboard widget by their own stack's name", () => {
    // Prepare
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const [stagingStack, productionStack] = ["SyncStaging", "SyncProduction"].map(
      (name) =>
        new TallyfyIdpSyncStack(app, name, {
          config: parseAppConfig(FULL_FEATURED_CONTEXT),
          env: { account: "111111111111", region: "eu-west-1" },
        }),
    ) as [TallyfyIdpSyncStack, TallyfyIdpSyncStack];

    // Act
    const staging = services(Template.fromStack(stagingStack));
    const production = services(Template.fromStack(productionStack));

    // Assess
    expect(staging.alarms.length).toBeGreaterThan(5);
    expect(new Set(staging.alarms)).toEqual(new Set(["SyncStaging"]));
    expect(new Set(production.alarms)).toEqual(new Set(["SyncProduction"]));
    expect(new Set(staging.functions)).toEqual(new Set(["SyncStaging"]));
    expect(new Set(production.functions)).toEqual(new Set(["SyncProduction"]));
    expect(staging.dashboard).toContain('\\"service\\",\\"SyncStaging\\"');
    expect(staging.dashboard).not.toContain("SyncProduction");
    expect(staging.dashboard).not.toContain('\\"service\\",\\"tallyfy-idp-sync\\"');
  });

  it("have their functions emit metrics under the service the stack names", () => {
    // Act: the runtime's metrics, in a process of its own as in a Lambda container
    const emitted = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `const { count, metrics, MetricName } = await import("./handlers/runtime/observability.ts");
         count(MetricName.EventsReceived); metrics.publishStoredMetrics();`,
      ],
      // As a Lambda container's: none of the test runner's variables.
      { env: { PATH: process.env.PATH, POWERTOOLS_SERVICE_NAME: "SyncStaging" }, encoding: "utf8" },
    );

    // Assess
    const record = JSON.parse(emitted.trim().split("\n").at(-1) ?? "{}");
    expect(record.service).toBe("SyncStaging");
    expect(record._aws.CloudWatchMetrics[0].Dimensions[0]).toContain("service");
  });
});
