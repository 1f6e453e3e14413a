/**
 * `TallyfyIdpSync`: the whole product as one construct. Queues, the two Lambdas and their event
 * source mappings, the Tallyfy secret, an optional EventBridge route, alarms and a dashboard.
 * Infrastructure only: the runtime code it bundles lives under `handlers/`.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  Aws,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  aws_events as events,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  SecretValue,
  Stack,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  aws_events_targets as targets,
  Validations,
} from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { Construct } from "constructs";
import type * as z from "zod";
import { describeIssues } from "../handlers/core/issues.js";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../handlers/runtime/observability.js";
import { SyncConfigSchema } from "../handlers/sources/index.js";
import { OKTA_EVENT_TYPES } from "../handlers/sources/okta/adapter.js";
import { MAX_HOOK_BODY_BYTES, OktaEventHookApi } from "./okta-event-hook.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Routes matching events from an EventBridge bus (e.g. an identity provider's partner bus) to the ingest queue. */
export interface EventBridgeSourceProps {
  /** Name of the event bus, e.g. `aws.partner/okta.com/acme/tallyfy`. */
  readonly eventBusName: string;
  /** Which events to route. */
  readonly eventPattern: events.EventPattern;
}

/** Okta as an event source (README "Okta"). */
export interface OktaSourceProps {
  /**
   * An existing secret holding the Okta credential: `{"orgUrl", "apiToken"}` or a service app's
   * `{"orgUrl", "clientId", "privateKey"}`.
   * @default - a new secret holding `{}`, to be filled after deployment
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * Receive Okta Event Hooks at an HTTPS endpoint (API Gateway straight to the ingest queue).
   * @default false
   */
  readonly eventHook?: boolean;

  /**
   * The partner event bus Okta Log Streaming writes to (`aws.partner/okta.com/{org}/{name}`): a
   * rule routes the System Log events the adapter handles to the ingest queue.
   * @default - no Log Streaming rule
   */
  readonly logStreamEventBusName?: string;
}

/** The EventBridge pattern for Okta Log Streaming: the event types the adapter acts on, successful only. */
export function oktaLogStreamPattern(): events.EventPattern {
  return {
    source: events.Match.prefix("aws.partner/okta.com/"),
    detailType: ["SystemLog"],
    detail: { eventType: [...OKTA_EVENT_TYPES], outcome: { result: ["SUCCESS"] } },
  };
}

export interface TallyfyIdpSyncProps {
  /**
   * The sync configuration (see README "Configuration"): member domains, role groups, group
   * mapping, deprovisioning. Validated at synth time.
   */
  readonly syncConfig: z.input<typeof SyncConfigSchema>;

  /** The Tallyfy organization id. */
  readonly tallyfyOrganizationId: string;

  /**
   * Tallyfy API base URL.
   * @default "https://go.tallyfy.com/api"
   */
  readonly tallyfyApiUrl?: string;

  /**
   * An existing secret holding the Tallyfy credential (README "The Tallyfy secret").
   * @default - a new secret holding `{}`, to be filled after deployment
   */
  readonly tallyfySecret?: secretsmanager.ISecret;

  /**
   * Receives of a message before it is dead-lettered, on both source queues. The handlers are
   * told the same number, so the last receive dead-letters a transient failure with its reason.
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * Timeout of the ingest function. Its queue's visibility timeout is six times this.
   * @default Duration.seconds(30)
   */
  readonly ingestTimeout?: Duration;

  /**
   * Timeout of the apply function. Its queue's visibility timeout is six times this.
   * @default Duration.seconds(60)
   */
  readonly applyTimeout?: Duration;

  /**
   * At most this many apply functions run at once. Tallyfy allows about 600 requests a minute
   * per user; each apply function makes a few calls per command at 30-100 ms each, so 2 keeps
   * well inside the limit while 429s are still retried.
   * @default 2
   */
  readonly applyMaxConcurrency?: number;

  /**
   * Records per ingest invocation.
   * @default 10
   */
  readonly ingestBatchSize?: number;

  /**
   * How long the ingest mapping gathers records before invoking.
   * @default Duration.seconds(1)
   */
  readonly ingestBatchingWindow?: Duration;

  /**
   * Route matching EventBridge events to the ingest queue.
   * @default - no EventBridge rule
   */
  readonly eventBridge?: EventBridgeSourceProps;

  /**
   * Okta as an event source: its credential, the Event Hook endpoint, the Log Streaming rule.
   * @default - no Okta: Okta events are dead-lettered saying so
   */
  readonly okta?: OktaSourceProps;

  /**
   * Where alarms are sent.
   * @default - a new topic when `alarmEmail` is given, otherwise alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * An email address subscribed to a new alarm topic (ignored when `alarmTopic` is given).
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Alarm when the oldest message in a source queue is older than this.
   * @default Duration.minutes(15)
   */
  readonly maxMessageAge?: Duration;

  /**
   * Retention of the functions' logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props that fail validation, all reported at once. */
export class TallyfyIdpSyncPropsError extends Error {
  public constructor(problems: readonly string[]) {
    super(`TallyfyIdpSync: invalid props:\n  - ${problems.join("\n  - ")}`);
    this.name = "TallyfyIdpSyncPropsError";
  }
}

interface Defaults {
  readonly maxReceiveCount: number;
  readonly ingestTimeout: Duration;
  readonly applyTimeout: Duration;
  readonly applyMaxConcurrency: number;
  readonly ingestBatchSize: number;
  readonly ingestBatchingWindow: Duration;
  readonly maxMessageAge: Duration;
}

/** The visibility timeout of a source queue is this many times its consumer's timeout (AWS guidance). */
export const VISIBILITY_FACTOR = 6;

export class TallyfyIdpSync extends Construct {
  /** Identity events arrive here (standard queue). */
  public readonly ingestQueue: sqs.Queue;
  public readonly ingestDeadLetterQueue: sqs.Queue;
  /** Commands, one FIFO message group per Tallyfy entity. */
  public readonly commandsQueue: sqs.Queue;
  public readonly commandsDeadLetterQueue: sqs.Queue;
  public readonly ingestFunction: NodejsFunction;
  public readonly applyFunction: NodejsFunction;
  public readonly tallyfySecret: secretsmanager.ISecret;
  /** The Okta credential, when `okta` is given. */
  public readonly oktaSecret?: secretsmanager.ISecret;
  /** The Okta Event Hook endpoint, when `okta.eventHook` is set. */
  public readonly oktaEventHook?: OktaEventHookApi;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarmTopic?: sns.ITopic;

  public constructor(scope: Construct, id: string, props: TallyfyIdpSyncProps) {
    super(scope, id);
    const settings = validate(props);
    const syncConfig = SyncConfigSchema.parse(props.syncConfig);

    // Setup the queues
    const queue = (name: string, fifo: boolean, extra: Partial<sqs.QueueProps>) =>
      new sqs.Queue(this, name, {
        fifo: fifo || undefined,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        ...extra,
      });
    this.ingestDeadLetterQueue = queue("IngestDeadLetterQueue", false, {
      retentionPeriod: Duration.days(14),
    });
    this.commandsDeadLetterQueue = queue("CommandsDeadLetterQueue", true, {
      retentionPeriod: Duration.days(14),
    });
    this.ingestQueue = queue("IngestQueue", false, {
      visibilityTimeout: Duration.seconds(settings.ingestTimeout.toSeconds() * VISIBILITY_FACTOR),
      // Also the limit on an Okta Event Hook body: the endpoint has no other size check.
      maxMessageSizeBytes: MAX_HOOK_BODY_BYTES,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.ingestDeadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    this.commandsQueue = queue("CommandsQueue", true, {
      visibilityTimeout: Duration.seconds(settings.applyTimeout.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod: Duration.days(4),
      // High-throughput FIFO: ordering and deduplication per entity, not per queue.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      deadLetterQueue: { queue: this.commandsDeadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });

    // Setup the secret: by reference, or created holding "{}" for the administrator to fill
    this.tallyfySecret =
      props.tallyfySecret ??
      new secretsmanager.Secret(this, "TallyfySecret", {
        description:
          'Tallyfy API credential for tallyfy-idp-sync: {"accessToken": "..."} or {"clientId", "clientSecret", "tokenUrl"}',
        secretStringValue: SecretValue.unsafePlainText("{}"),
        removalPolicy: RemovalPolicy.RETAIN,
      });

    if (props.okta) {
      this.oktaSecret =
        props.okta.secret ??
        new secretsmanager.Secret(this, "OktaSecret", {
          description:
            'Okta API credential for tallyfy-idp-sync: {"orgUrl", "apiToken"} or {"orgUrl", "clientId", "privateKey"}',
          secretStringValue: SecretValue.unsafePlainText("{}"),
          removalPolicy: RemovalPolicy.RETAIN,
        });
    }

    // Setup the functions
    const common = {
      SYNC_CONFIG: JSON.stringify(syncConfig),
      MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
      COMMANDS_QUEUE_URL: this.commandsQueue.queueUrl,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: "--enable-source-maps",
    };
    this.ingestFunction = this.#function(
      "IngestFunction",
      "ingest.ts",
      settings.ingestTimeout,
      props.logRetention,
      {
        ...common,
        DEAD_LETTER_QUEUE_URL: this.ingestDeadLetterQueue.queueUrl,
        INGEST_QUEUE_URL: this.ingestQueue.queueUrl,
        ...(this.oktaSecret ? { OKTA_SECRET_ID: this.oktaSecret.secretArn } : {}),
      },
    );
    this.applyFunction = this.#function(
      "ApplyFunction",
      "apply.ts",
      settings.applyTimeout,
      props.logRetention,
      {
        ...common,
        DEAD_LETTER_QUEUE_URL: this.commandsDeadLetterQueue.queueUrl,
        TALLYFY_SECRET_ID: this.tallyfySecret.secretArn,
        TALLYFY_ORG_ID: props.tallyfyOrganizationId,
        TALLYFY_API_URL: props.tallyfyApiUrl ?? "https://go.tallyfy.com/api",
      },
    );

    // Setup the event source mappings and least-privilege grants
    this.ingestFunction.addEventSource(
      new SqsEventSource(this.ingestQueue, {
        batchSize: settings.ingestBatchSize,
        maxBatchingWindow: settings.ingestBatchingWindow,
        reportBatchItemFailures: true,
      }),
    );
    this.applyFunction.addEventSource(
      new SqsEventSource(this.commandsQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: settings.applyMaxConcurrency,
      }),
    );
    this.commandsQueue.grantSendMessages(this.ingestFunction);
    this.ingestDeadLetterQueue.grantSendMessages(this.ingestFunction);
    this.commandsQueue.grantSendMessages(this.applyFunction);
    this.commandsDeadLetterQueue.grantSendMessages(this.applyFunction);
    // Commands waiting for a person to be created go back through the ingest queue, delayed.
    this.ingestQueue.grantSendMessages(this.applyFunction);
    this.tallyfySecret.grantRead(this.applyFunction);
    // An Okta hook body with several events is split into a message each on the ingest queue.
    this.ingestQueue.grantSendMessages(this.ingestFunction);
    this.oktaSecret?.grantRead(this.ingestFunction);

    // Setup the optional EventBridge route
    if (props.eventBridge) {
      new events.Rule(this, "IdentityEventsRule", {
        eventBus: events.EventBus.fromEventBusName(this, "IdentityEventBus", props.eventBridge.eventBusName),
        eventPattern: props.eventBridge.eventPattern,
        targets: [new targets.SqsQueue(this.ingestQueue)],
      });
    }

    // Setup the Okta routes
    if (props.okta?.eventHook) {
      this.oktaEventHook = new OktaEventHookApi(this, "OktaEventHook", {
        queue: this.ingestQueue,
        logRetention: props.logRetention,
      });
    }
    if (props.okta?.logStreamEventBusName) {
      new events.Rule(this, "OktaLogStreamRule", {
        eventBus: events.EventBus.fromEventBusName(this, "OktaEventBus", props.okta.logStreamEventBusName),
        eventPattern: oktaLogStreamPattern(),
        targets: [new targets.SqsQueue(this.ingestQueue)],
      });
    }

    // Setup alarms and the dashboard
    this.alarmTopic = props.alarmTopic ?? (props.alarmEmail ? this.#alarmTopic(props.alarmEmail) : undefined);
    this.#alarms(settings.maxMessageAge);
    this.dashboard = this.#dashboard();

    this.#outputs();
    this.#acknowledgements();
  }

  #function(
    id: string,
    entry: string,
    timeout: Duration,
    retention: logs.RetentionDays | undefined,
    environment: Record<string, string>,
  ) {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: retention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return new NodejsFunction(this, id, {
      entry: path.join(here, "..", "handlers", entry),
      handler: "handler",
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment,
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: "node24",
        mainFields: ["module", "main"],
        // ESM bundles of CommonJS dependencies still call require().
        banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
        // Bundle the pinned SDK rather than rely on the runtime's copy.
        externalModules: [],
      },
    });
  }

  #alarmTopic(email: string): sns.Topic {
    const topic = new sns.Topic(this, "AlarmTopic", {
      displayName: "tallyfy-idp-sync alarms",
      enforceSSL: true,
    });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  #alarms(maxMessageAge: Duration): void {
    const add = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (this.alarmTopic) alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      this.alarms.push(alarm);
    };
    const fiveMinutes = { period: Duration.minutes(5) };
    for (const [id, dlq] of [
      ["IngestDeadLetters", this.ingestDeadLetterQueue],
      ["CommandsDeadLetters", this.commandsDeadLetterQueue],
    ] as const) {
      add(
        `${id}Alarm`,
        dlq.metricApproximateNumberOfMessagesVisible({ ...fiveMinutes, statistic: "Maximum" }),
        1,
        `Messages in ${id}: read their errorType and errorMessage attributes, fix, then redrive (README "Dead letters")`,
      );
    }
    for (const [id, source] of [
      ["IngestQueueAge", this.ingestQueue],
      ["CommandsQueueAge", this.commandsQueue],
    ] as const) {
      add(
        `${id}Alarm`,
        source.metricApproximateAgeOfOldestMessage({ ...fiveMinutes, statistic: "Maximum" }),
        maxMessageAge.toSeconds(),
        `Oldest message in ${id} is older than ${maxMessageAge.toHumanString()}: the consumer is stuck, throttled or failing`,
      );
    }
    const hook = this.oktaEventHook?.api;
    if (hook) {
      // Okta does not retry a 4xx and retries a 5xx only once: either means events were lost.
      add(
        "OktaHookRejectedAlarm",
        hook.metricClientError({ ...fiveMinutes, statistic: "Sum" }),
        1,
        "The Okta event hook endpoint refused requests (403: the x-api-key Okta sends is wrong; 400: a body too large or not an event hook body). Okta does not retry these: fix, then look for the lost events in Okta's System Log (event_hook.delivery)",
      );
      add(
        "OktaHookErrorsAlarm",
        hook.metricServerError({ ...fiveMinutes, statistic: "Sum" }),
        1,
        "The Okta event hook endpoint could not queue requests (5xx). Okta retries once; look for lost events in Okta's System Log (event_hook.delivery)",
      );
    }
    for (const [id, fn] of [
      ["Ingest", this.ingestFunction],
      ["Apply", this.applyFunction],
    ] as const) {
      add(
        `${id}ErrorsAlarm`,
        fn.metricErrors({ ...fiveMinutes, statistic: "Sum" }),
        1,
        `${id} function invocations failed (not record failures: those are retried or dead-lettered)`,
      );
      add(
        `${id}ThrottlesAlarm`,
        fn.metricThrottles({ ...fiveMinutes, statistic: "Sum" }),
        1,
        `${id} function was throttled`,
      );
    }
  }

  #dashboard(): cloudwatch.Dashboard {
    const app = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: "Sum",
        period: Duration.minutes(5),
        label,
      });
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `${Stack.of(this).stackName}-tallyfy-idp-sync`,
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Events and commands",
        width: 12,
        left: [
          app("EventsReceived", "events in"),
          app("CommandsApplied", "commands applied"),
          app("NoOps", "no-ops"),
          app("Ignored", "ignored"),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Failures and Tallyfy",
        width: 12,
        left: [
          app("DeadLettered", "dead-lettered"),
          app("Retried", "retried"),
          app("TallyfyThrottled", "Tallyfy 429s"),
          app("OktaThrottled", "Okta 429s"),
        ],
        right: [app("TallyfyWrites", "Tallyfy writes")],
      }),
      new cloudwatch.GraphWidget({
        title: "Age of oldest message (s)",
        width: 12,
        left: [
          this.ingestQueue.metricApproximateAgeOfOldestMessage(),
          this.commandsQueue.metricApproximateAgeOfOldestMessage(),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "Dead-letter queues",
        width: 12,
        left: [
          this.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
          this.commandsDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
        ],
      }),
    );
    return dashboard;
  }

  #outputs(): void {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out("IngestQueueUrl", this.ingestQueue.queueUrl, "Send identity events here");
    out("IngestQueueArn", this.ingestQueue.queueArn, "The ingest queue's ARN");
    out(
      "IngestDeadLetterQueueUrl",
      this.ingestDeadLetterQueue.queueUrl,
      "Events that could not be read, with the reason",
    );
    out("IngestDeadLetterQueueArn", this.ingestDeadLetterQueue.queueArn, "For redrive");
    out("CommandsQueueUrl", this.commandsQueue.queueUrl, "Commands waiting for Tallyfy");
    out("CommandsQueueArn", this.commandsQueue.queueArn, "The commands queue's ARN");
    out(
      "CommandsDeadLetterQueueUrl",
      this.commandsDeadLetterQueue.queueUrl,
      "Commands Tallyfy did not accept, with the reason",
    );
    out("CommandsDeadLetterQueueArn", this.commandsDeadLetterQueue.queueArn, "For redrive");
    out("TallyfySecretArn", this.tallyfySecret.secretArn, "Put the Tallyfy credential here");
    if (this.oktaSecret) out("OktaSecretArn", this.oktaSecret.secretArn, "Put the Okta credential here");
    out(
      "DashboardUrl",
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`,
      "The CloudWatch dashboard",
    );
  }

  /** cdk-nag AwsSolutions findings this design accepts, each with its reason. */
  #acknowledgements(): void {
    const partition = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    for (const fn of [this.ingestFunction, this.applyFunction]) {
      Validations.of(fn).acknowledge({
        id: `AwsSolutions-IAM4[Policy::${partition}]`,
        reason: "AWSLambdaBasicExecutionRole only allows writing the function's own CloudWatch logs",
      });
    }
    if (this.tallyfySecret instanceof secretsmanager.Secret) {
      Validations.of(this.tallyfySecret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "A Tallyfy personal access token or client secret is issued by Tallyfy and cannot be rotated by a Lambda; rotate it in Tallyfy and update the secret",
      });
    }
    if (this.oktaSecret instanceof secretsmanager.Secret) {
      Validations.of(this.oktaSecret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "An Okta API token or service app key is issued in the Okta Admin Console and cannot be rotated by a Lambda; rotate it in Okta and update the secret",
      });
    }
  }
}

function validate(props: TallyfyIdpSyncProps): Defaults {
  const settings: Defaults = {
    maxReceiveCount: props.maxReceiveCount ?? 5,
    ingestTimeout: props.ingestTimeout ?? Duration.seconds(30),
    applyTimeout: props.applyTimeout ?? Duration.seconds(60),
    applyMaxConcurrency: props.applyMaxConcurrency ?? 2,
    ingestBatchSize: props.ingestBatchSize ?? 10,
    ingestBatchingWindow: props.ingestBatchingWindow ?? Duration.seconds(1),
    maxMessageAge: props.maxMessageAge ?? Duration.minutes(15),
  };
  const problems: string[] = [];
  const config = SyncConfigSchema.safeParse(props.syncConfig);
  if (!config.success) problems.push(`syncConfig: ${describeIssues(config.error)}`);
  if (!props.tallyfyOrganizationId?.trim()) problems.push("tallyfyOrganizationId: must not be empty");
  if (props.tallyfyApiUrl !== undefined && !/^https:\/\/[^/]+/.test(props.tallyfyApiUrl))
    problems.push("tallyfyApiUrl: must be an https URL");
  const wholeNumber = (name: string, value: number, min: number, max: number, why = "") => {
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}: must be a whole number from ${min} to ${max}${why}`);
    }
  };
  wholeNumber("maxReceiveCount", settings.maxReceiveCount, 2, 1000);
  wholeNumber("applyMaxConcurrency", settings.applyMaxConcurrency, 2, 1000, " (a Lambda limit)");
  wholeNumber("ingestBatchSize", settings.ingestBatchSize, 1, 10_000);
  for (const [name, timeout] of [
    ["ingestTimeout", settings.ingestTimeout],
    ["applyTimeout", settings.applyTimeout],
  ] as const) {
    // The queue's visibility timeout (six times this) may not exceed SQS's 12 hours.
    if (
      timeout.toSeconds() < 5 ||
      timeout.toSeconds() * VISIBILITY_FACTOR > 43_200 ||
      timeout.toSeconds() > 900
    ) {
      problems.push(`${name}: must be from 5 seconds to 15 minutes`);
    }
  }
  if (settings.ingestBatchSize > 10 && settings.ingestBatchingWindow.toSeconds() < 1) {
    problems.push("ingestBatchingWindow: must be at least 1 second when ingestBatchSize is over 10");
  }
  if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail))
    problems.push("alarmEmail: must be an email address");
  if (
    props.okta?.logStreamEventBusName !== undefined &&
    !props.okta.logStreamEventBusName.startsWith("aws.partner/okta.com/")
  )
    problems.push(
      "okta.logStreamEventBusName: must be the Okta partner bus, aws.partner/okta.com/<org>/<name>",
    );
  if (props.eventBridge && !props.eventBridge.eventBusName.trim())
    problems.push("eventBridge.eventBusName: must not be empty");
  if (problems.length > 0) throw new TallyfyIdpSyncPropsError(problems);
  return settings;
}
