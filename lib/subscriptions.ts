/**
 * `SubscriptionUpkeep`: keeps the webhook sources' subscriptions to their providers alive (Graph
 * subscriptions, Google channels). EventBridge Scheduler puts a message on its queue on each
 * source's schedule, and a webhook puts a provider's lifecycle message there; the function reads
 * the queue, creates what is missing, renews what expires soon, and keeps ids and expiry in the
 * directory. What it cannot renew is counted (the alarm), retried, and dead-lettered.
 */
import {
  aws_cloudwatch as cloudwatch,
  Duration,
  aws_iam as iam,
  type aws_lambda as lambda,
  type aws_logs as logs,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  type aws_secretsmanager as secretsmanager,
  aws_sqs as sqs,
  Validations,
} from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Construct } from "constructs";
import { DIRECTORY_KEYS } from "../handlers/contracts/directory-keys.js";
import { METRICS_NAMESPACE, MetricName } from "../handlers/contracts/metrics.js";
import type { DirectoryTable } from "./directory-table.js";
import { serviceOf, syncFunction } from "./functions.js";
import { schedulerPrincipal } from "./schedules.js";
import { VISIBILITY_FACTOR } from "./settings.js";

/** One source whose subscriptions are kept. */
export interface UpkeptSource {
  readonly sourceId: string;
  /** An EventBridge Scheduler expression. */
  readonly schedule: string;
  /** What the alarm says when a subscription cannot be renewed. */
  readonly failedText: string;
  /** The source's API credential, which creates and renews the subscriptions. */
  readonly credential?: secretsmanager.ISecret;
  /** The secret the provider must echo, given to it on every subscription. */
  readonly webhookSecret: secretsmanager.ISecret;
}

export interface SubscriptionUpkeepProps {
  readonly sources: readonly UpkeptSource[];
  readonly directory: DirectoryTable;
  /** Where a full read is queued when a subscription was lost. */
  readonly ingestQueue: sqs.IQueue;
  /** The function's environment: table, secret ids and webhook URLs, never a secret. */
  readonly environment: Record<string, string>;
  /** The sync configuration (JSON), bundled with the function. */
  readonly syncConfig: string;
  /** Where a schedule puts a start it could not make (the stack's schedules share one queue). */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /**
   * Receives of a message before it is dead-lettered.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

const TIMEOUT = Duration.minutes(1);

export class SubscriptionUpkeep extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly function: lambda.Function;
  readonly #sources: readonly UpkeptSource[];

  public constructor(scope: Construct, id: string, props: SubscriptionUpkeepProps) {
    super(scope, id);
    this.#sources = props.sources;

    // Setup the queue: encrypted, TLS only, with its own dead-letter queue
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    // Setup the function and its least-privilege grants
    this.function = syncFunction(this, "Function", {
      entry: "upkeep.ts",
      syncConfig: props.syncConfig,
      timeout: TIMEOUT,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: { ...props.environment, INGEST_QUEUE_URL: props.ingestQueue.queueUrl },
    });
    // A source whose run failed retries its own messages only (the handler's partial batch response).
    this.function.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, maxConcurrency: 2, reportBatchItemFailures: true }),
    );
    props.ingestQueue.grantSendMessages(this.function);
    for (const source of props.sources) {
      source.credential?.grantRead(this.function);
      source.webhookSecret.grantRead(this.function);
    }
    // The source state items only: not a person, a link or a group.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        resources: [props.directory.table.tableArn],
        conditions: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${DIRECTORY_KEYS.sourceState}*`] },
        },
      }),
    );

    // Setup a schedule per source
    const role = new iam.Role(this, "ScheduleRole", {
      assumedBy: schedulerPrincipal(),
    });
    for (const source of props.sources) {
      new scheduler.Schedule(this, `${source.sourceId}Schedule`, {
        schedule: scheduler.ScheduleExpression.expression(source.schedule),
        description: `tallyfy-idp-sync: keep the ${source.sourceId} subscriptions alive`,
        target: new schedulerTargets.SqsSendMessage(this.queue, {
          input: scheduler.ScheduleTargetInput.fromObject({ source: source.sourceId }),
          role,
          deadLetterQueue: props.scheduleDeadLetterQueue,
          retryAttempts: 10,
          maxEventAge: Duration.hours(1),
        }),
      });
    }
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: "It is the dead-letter queue of the upkeep queue; an alarm fires on its first message",
    });
    if (props.tracing) {
      Validations.of(this.function.role ?? this.function).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource: AWS documents them on *",
      });
    }
  }

  public alarms() {
    return [
      ...this.#sources.map((source) => ({
        id: `${source.sourceId.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}SubscriptionAlarm`,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: MetricName.SubscriptionUpkeepFailed,
          dimensionsMap: { service: serviceOf(this), source: source.sourceId },
          statistic: "Sum",
          period: Duration.hours(1),
        }),
        threshold: 1,
        text: source.failedText,
      })),
      {
        id: "SubscriptionDeadLettersAlarm",
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: "Maximum",
        }),
        threshold: 1,
        text: "The subscription function failed the same run several times: a provider's subscriptions are not being renewed. Read its log",
      },
    ];
  }
}
