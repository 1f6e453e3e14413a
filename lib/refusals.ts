/**
 * When refused requests at a public endpoint page someone: what a wrong secret or key does and a
 * scanner does not. A wrong secret refuses every request the provider sends, one or more per
 * change, so for as long as it is wrong refusals come and acceptances stop; a scanner sends a few
 * probes, beside the provider's accepted requests. So: in an hour, at least five refusals and no
 * more acceptances than refusals. One refusal alone pages nobody. A provider that sends fewer than
 * five requests an hour is watched by the day: at least three refusals and no acceptance.
 */
import { aws_cloudwatch as cloudwatch, Duration } from "aws-cdk-lib";

/** Refusals in an hour that alarm, when they are at least as many as the acceptances. */
export const REFUSALS_THAT_ALARM = 5;

/**
 * Refusals in a day, with no request accepted, that alarm: a wrong secret at a provider too quiet
 * for the hourly rule (Okta sends a delivery per change and retries none). A scanner's probes on
 * a tenant that sent nothing all day page too: for a tenant that quiet the two look alike.
 */
export const QUIET_REFUSALS_THAT_ALARM = 3;

type RefusalMetrics = { readonly refused: cloudwatch.Metric } & (
  | { readonly accepted: cloudwatch.Metric }
  | { readonly all: cloudwatch.Metric }
);

/**
 * 1 for an hour that was mostly refusals, else 0. `refused` and `accepted` (or `all`, the
 * endpoint's every request) are sums; their own periods are replaced by the hour.
 */
export function mostlyRefused(label: string, metrics: RefusalMetrics): cloudwatch.MathExpression {
  return refusalRule(
    label,
    metrics,
    Duration.hours(1),
    (accepted) => `FILL(refused, 0) >= ${REFUSALS_THAT_ALARM} AND FILL(refused, 0) >= ${accepted}`,
  );
}

/** 1 for a day of refusals only (at least `QUIET_REFUSALS_THAT_ALARM`), else 0. */
export function refusedAllDay(label: string, metrics: RefusalMetrics): cloudwatch.MathExpression {
  return refusalRule(
    label,
    metrics,
    Duration.days(1),
    (accepted) => `FILL(refused, 0) >= ${QUIET_REFUSALS_THAT_ALARM} AND ${accepted} <= 0`,
  );
}

function refusalRule(
  label: string,
  metrics: RefusalMetrics,
  period: Duration,
  rule: (accepted: string) => string,
): cloudwatch.MathExpression {
  const accepted = "accepted" in metrics ? "FILL(accepted, 0)" : "(FILL(all, 0) - FILL(refused, 0))";
  return new cloudwatch.MathExpression({
    expression: `IF(${rule(accepted)}, 1, 0)`,
    usingMetrics: Object.fromEntries(
      Object.entries(metrics).map(([id, metric]) => [id, metric.with({ period, statistic: "Sum" })]),
    ),
    period,
    label,
  });
}
