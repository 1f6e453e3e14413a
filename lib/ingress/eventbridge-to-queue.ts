/** An EventBridge rule from a bus (an identity provider's partner bus, or the default one) to the ingest queue. */
import { aws_events as events, type aws_sqs as sqs, aws_events_targets as targets } from "aws-cdk-lib";
import type { Construct } from "constructs";

export interface EventBridgeToQueueProps {
  /** The bus's name, e.g. `aws.partner/okta.com/acme/log-stream`. */
  readonly eventBusName: string;
  /** Which events to route. */
  readonly eventPattern: events.EventPattern;
  readonly queue: sqs.IQueue;
  /** The construct id of the imported bus. */
  readonly busId: string;
}

export function eventBridgeToQueue(
  scope: Construct,
  id: string,
  props: EventBridgeToQueueProps,
): events.Rule {
  return new events.Rule(scope, id, {
    eventBus: events.EventBus.fromEventBusName(scope, props.busId, props.eventBusName),
    eventPattern: props.eventPattern,
    targets: [new targets.SqsQueue(props.queue)],
  });
}
