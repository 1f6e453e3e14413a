/**
 * One logger and one metrics emitter per container, shared by both handlers.
 *
 * Logs are Powertools JSON; metrics are CloudWatch Embedded Metric Format written to stdout, so
 * emitting them costs no API call. Neither ever receives a token or secret: the Tallyfy client
 * reports status codes and operation names only.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from "../contracts/metrics.js";

export { METRICS_NAMESPACE, MetricName, SERVICE_NAME };

/** The stack's name as deployed, so two stacks in one account and region keep their metrics apart. */
const service = process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;

export const logger = new Logger({ serviceName: service });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });

/** Counts one occurrence, with a single extra dimension (an event type or a reason). */
export function count(name: MetricName, dimension?: { readonly name: string; readonly value: string }): void {
  if (!dimension) {
    metrics.addMetric(name, MetricUnit.Count, 1);
    return;
  }
  const single = metrics.singleMetric();
  single.addDimension(dimension.name, dimension.value);
  single.addMetric(name, MetricUnit.Count, 1);
}
