/**
 * A public endpoint's refusals page someone only as a wrong secret or key makes them: at least
 * five in an hour, and no more acceptances than refusals. One probe from a scanner pages nobody.
 */
import { describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";

interface MetricQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly MetricStat?: {
    readonly Metric: { readonly MetricName: string };
    readonly Period: number;
    readonly Stat: string;
  };
}

describe("the refused-requests alarms", () => {
  it("fire on an hour of mostly refusals, five at least, for the Okta hook and both webhooks", () => {
    // Prepare
    const template = synthFullFeatured();

    // Act
    const alarms = Object.entries(template.findResources("AWS::CloudWatch::Alarm"))
      .filter(([id]) => /(OktaHook|EntraWebhook|GoogleWebhook)RejectedAlarm/.test(id))
      .map(([id, alarm]) => ({
        id,
        props: alarm.Properties,
        queries: alarm.Properties.Metrics as MetricQuery[],
      }));

    // Assess
    expect(alarms).toHaveLength(3);
    for (const { id, props, queries } of alarms) {
      const expression = queries.find((q) => q.Expression)?.Expression ?? "";
      const stats = queries.flatMap((q) => (q.MetricStat ? [q.MetricStat] : []));
      expect({ id, expression }).toEqual({
        id,
        expression: expect.stringMatching(
          /^IF\(FILL\(refused, 0\) >= 5 AND FILL\(refused, 0\) >= .+, 1, 0\)$/,
        ),
      });
      expect({ id, periods: stats.map((s) => [s.Period, s.Stat]) }).toEqual({
        id,
        periods: [
          [3600, "Sum"],
          [3600, "Sum"],
        ],
      });
      expect(props.Threshold).toBe(1);
      expect(props.EvaluationPeriods).toBe(1);
    }
    const okta = alarms.find((a) => a.id.includes("OktaHook"));
    expect(okta?.queries.flatMap((q) => q.MetricStat?.Metric.MetricName ?? []).sort()).toEqual([
      "4XXError",
      "Count",
    ]);
    const entra = alarms.find((a) => a.id.includes("EntraWebhook"));
    expect(entra?.queries.flatMap((q) => q.MetricStat?.Metric.MetricName ?? []).sort()).toEqual([
      "WebhookAccepted",
      "WebhookRejected",
    ]);
  });
});
