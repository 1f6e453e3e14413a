/**
 * Okta sends a hook delivery per change and retries none. The refused-requests alarm fires on an
 * hour of at least five refusals, no more acceptances than refusals: a tenant that changes fewer
 * than five users an hour lost every change to a wrong `x-api-key`, and nothing fired. A second
 * alarm watches the day: at least three refusals and no acceptance. Each alarm's own expression
 * from the template is evaluated here, hour by hour and day by day.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";

interface MetricQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly MetricStat?: { readonly Metric: { readonly MetricName: string }; readonly Period: number };
}

interface Alarm {
  readonly Metrics: readonly MetricQuery[];
  readonly Threshold: number;
}

/** One period's value of a metric-math expression of FILL, IF, AND, comparisons and sums. */
function evaluate(expression: string, sums: Readonly<Record<string, number | undefined>>): number {
  const js = expression.replace(/FILL\((\w+),\s*0\)/g, "(v.$1 ?? 0)").replace(/\bAND\b/g, "&&");
  return new Function("v", "IF", `return ${js};`)(sums, (c: boolean, a: number, b: number) => (c ? a : b));
}

let alarms: Record<string, Alarm>;
beforeAll(() => {
  const resources = synthFullFeatured().toJSON().Resources as Record<
    string,
    { Type: string; Properties: Alarm }
  >;
  alarms = Object.fromEntries(
    Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::CloudWatch::Alarm")
      .map(([id, r]) => [id, r.Properties]),
  );
});

/** Whether the alarm whose logical id contains `fragment` fires on a period of these sums. */
function fires(fragment: string, sums: Readonly<Record<string, number>>): { fires: boolean; period: number } {
  const [, alarm] = Object.entries(alarms).find(([id]) => id.includes(fragment)) ?? [];
  if (!alarm) throw new Error(`no alarm ${fragment}`);
  const expression = alarm.Metrics.find((m) => m.Expression)?.Expression ?? "";
  const byId = Object.fromEntries(
    alarm.Metrics.filter((m) => m.MetricStat).map((m) => [
      m.Id,
      sums[m.MetricStat?.Metric.MetricName ?? ""] ?? 0,
    ]),
  );
  const periods = alarm.Metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Period] : []));
  return { fires: evaluate(expression, byId) >= alarm.Threshold, period: periods[0] ?? 0 };
}

describe("a wrong key at a quiet tenant", () => {
  it("fires the Okta hook's daily alarm on a day of three refused deliveries an hour, as the hourly one never does", () => {
    // Act: a day of 72 deliveries, all refused 403; and each of its hours
    const day = fires("OktaHookRejectedAllDayAlarm", { "4XXError": 72, Count: 72 });
    const hour = fires("OktaHookRejectedAlarm", { "4XXError": 3, Count: 3 });

    // Assess
    expect(day).toEqual({ fires: true, period: 86_400 });
    expect(hour).toEqual({ fires: false, period: 3_600 });
  });

  it("pages nobody for a scanner's probes beside a day of accepted deliveries, or for one refusal", () => {
    // Act
    const probes = fires("OktaHookRejectedAllDayAlarm", { "4XXError": 4, Count: 200 });
    const one = fires("OktaHookRejectedAllDayAlarm", { "4XXError": 1, Count: 1 });

    // Assess
    expect([probes.fires, one.fires]).toEqual([false, false]);
  });

  it("fires the Graph and Google webhooks' daily alarms the same way", () => {
    for (const source of ["Entra", "Google"]) {
      // Act
      const wrong = fires(`${source}WebhookRejectedAllDayAlarm`, { WebhookRejected: 5, WebhookAccepted: 0 });
      const healthy = fires(`${source}WebhookRejectedAllDayAlarm`, {
        WebhookRejected: 5,
        WebhookAccepted: 40,
      });

      // Assess
      expect([source, wrong.fires, healthy.fires]).toEqual([source, true, false]);
    }
  });
});
