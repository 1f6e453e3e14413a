/**
 * When refused requests at a public endpoint page someone: what a wrong secret or key does and a
 * scanner does not. A wrong secret refuses every request the provider sends, one or more per
 * change, so for as long as it is wrong refusals come and acceptances stop; a scanner sends a few
 * probes, beside the provider's accepted requests. So: in an hour, at least five refusals and no
 * more acceptances than refusals. One refusal alone pages nobody.
 */
import { aws_cloudwatch as cloudwatch, Duration } from "aws-cdk-lib";

/** Refusals in an hour that alarm, when they are at least as many as the acceptances. */
export const REFUSALS_THAT_ALARM = 5;

const HOUR = Duration.hours(1);

/**
 * 1 for an hour that was mostly refusals, else 0. `refused` and `accepted` (or `all`, the
 * endpoint's every request) are sums; their own periods are replaced by the hour.
 */
export function mostlyRefused(
  label: string,
  metrics: { readonly refused: cloudwatch.Metric } & (
    | { readonly accepted: cloudwatch.Metric }
    | { readonly all: cloudwatch.Metric }
  ),
): cloudwatch.MathExpression {
  const accepted = "accepted" in metrics ? "FILL(accepted, 0)" : "(FILL(all, 0) - FILL(refused, 0))";
  return new cloudwatch.MathExpression({
    expression: `IF(FILL(refused, 0) >= ${REFUSALS_THAT_ALARM} AND FILL(refused, 0) >= ${accepted}, 1, 0)`,
    usingMetrics: Object.fromEntries(
      Object.entries(metrics).map(([id, metric]) => [id, metric.with({ period: HOUR, statistic: "Sum" })]),
    ),
    period: HOUR,
    label,
  });
}
