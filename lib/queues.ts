/**
 * The queues: the standard ingest queue (identity events in), the FIFO reconcile queue (one
 * message group per person or Tallyfy group), the FIFO departures queue (the departures lane:
 * reconciles of changes that take access away), a dead-letter queue for ingest, one for both
 * reconcile lanes and one for the schedules. Encrypted, TLS only.
 *
 * A function, not a construct of its own: the queues keep the logical ids they have always had
 * in the stack (the reconcile queue is still `CommandsQueue`, its name before the convergent
 * core), so an update never replaces a queue or the messages in it.
 */
import { Duration, aws_sqs as sqs } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { MAX_ENDPOINT_BODY_BYTES } from "./ingress/endpoint-to-queue.js";
import { VISIBILITY_FACTOR } from "./settings.js";

export interface SyncQueuesProps {
  /** Receives of a message before it is dead-lettered, on both source queues. */
  readonly maxReceiveCount: number;
  /** The ingest function's timeout; the ingest queue's visibility timeout is six times it. */
  readonly ingestTimeout: Duration;
  /** The apply function's timeout; the reconcile queue's visibility timeout is six times it. */
  readonly applyTimeout: Duration;
}

export interface SyncQueues {
  /** Identity events arrive here (standard queue). */
  readonly ingest: sqs.Queue;
  readonly ingestDeadLetter: sqs.Queue;
  /** "Reconcile this person / group" messages, one FIFO message group per entity. */
  readonly reconcile: sqs.Queue;
  /** The departures lane: "reconcile this person" for a departure or a demotion from admin. */
  readonly departures: sqs.Queue;
  /** Both reconcile lanes' dead letters. */
  readonly reconcileDeadLetter: sqs.Queue;
  /**
   * What the schedules (the full reconciliation, the subscriptions' upkeep) could not start:
   * EventBridge Scheduler's dead letters, each with its `ERROR_CODE` and `ERROR_MESSAGE`.
   */
  readonly schedulesDeadLetter: sqs.Queue;
}

export function createQueues(scope: Construct, props: SyncQueuesProps): SyncQueues {
  const queue = (name: string, fifo: boolean, extra: Partial<sqs.QueueProps>) =>
    new sqs.Queue(scope, name, {
      fifo: fifo || undefined,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      ...extra,
    });
  const ingestDeadLetter = queue("IngestDeadLetterQueue", false, { retentionPeriod: Duration.days(14) });
  const reconcileDeadLetter = queue("CommandsDeadLetterQueue", true, { retentionPeriod: Duration.days(14) });
  const lane = (name: string) =>
    queue(name, true, {
      visibilityTimeout: Duration.seconds(props.applyTimeout.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod: Duration.days(4),
      // High-throughput FIFO: ordering and deduplication per entity, not per queue.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      deadLetterQueue: { queue: reconcileDeadLetter, maxReceiveCount: props.maxReceiveCount },
    });
  return {
    ingestDeadLetter,
    reconcileDeadLetter,
    schedulesDeadLetter: queue("SchedulesDeadLetterQueue", false, { retentionPeriod: Duration.days(14) }),
    ingest: queue("IngestQueue", false, {
      visibilityTimeout: Duration.seconds(props.ingestTimeout.toSeconds() * VISIBILITY_FACTOR),
      // Also the limit on a webhook body: the endpoints have no other size check.
      maxMessageSizeBytes: MAX_ENDPOINT_BODY_BYTES,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: ingestDeadLetter, maxReceiveCount: props.maxReceiveCount },
    }),
    reconcile: lane("CommandsQueue"),
    departures: lane("DeparturesQueue"),
  };
}
