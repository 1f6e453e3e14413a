/**
 * An EventBridge rule from a bus (an identity provider's partner bus, or the default one) to the
 * ingest queue. EventBridge retries a failed delivery, and what it still cannot deliver goes to a
 * dead-letter queue, so a departure is never dropped silently on the way in.
 */
import {
  Duration,
  aws_events as events,
  type aws_sqs as sqs,
  aws_events_targets as targets,
} from "aws-cdk-lib";
import type { Construct } from "constructs";

export interface EventBridgeToQueueProps {
  /** The bus's name, e.g. `aws.partner/okta.com/acme/log-stream`. */
  readonly eventBusName: string;
  /** Which events to route. */
  readonly eventPattern: events.EventPattern;
  readonly queue: sqs.IQueue;
  /** Where EventBridge puts an event it could not deliver to `queue` after its retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The construct id of the imported bus. */
  readonly busId: string;
}

/** EventBridge's own maximums: retry for a day before giving an event up to the dead-letter queue. */
const RETRY_ATTEMPTS = 185;
const MAX_EVENT_AGE = Duration.hours(24);

export function eventBridgeToQueue(
  scope: Construct,
  id: string,
  props: EventBridgeToQueueProps,
): events.Rule {
  return new events.Rule(scope, id, {
    eventBus: events.EventBus.fromEventBusName(scope, props.busId, props.eventBusName),
    eventPattern: props.eventPattern,
    targets: [
      new targets.SqsQueue(props.queue, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: RETRY_ATTEMPTS,
        maxEventAge: MAX_EVENT_AGE,
      }),
    ],
  });
}
