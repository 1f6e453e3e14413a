/**
 * What an operator watches: an alarm on every way a change can stall or be lost (dead letters,
 * old messages, failing or throttled functions, refused webhooks, a failing or slow SCIM
 * endpoint), and a dashboard of the
 * metrics the handlers emit, by the names the code emits them under.
 */
import {
  Annotations,
  Aws,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  type aws_events as events,
  aws_iam as iam,
  type aws_lambda as lambda,
  aws_sns as sns,
  type aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
} from "aws-cdk-lib";
import type { Construct } from "constructs";
import { METRICS_NAMESPACE, MetricName } from "../handlers/contracts/metrics.js";
import type { DirectoryTable } from "./directory-table.js";
import type { FullSync } from "./full-sync.js";
import { serviceOf } from "./functions.js";
import type { EndpointToQueue } from "./ingress/endpoint-to-queue.js";
import { uniqueName } from "./ingress/rest-api.js";
import type { ScimEndpoint } from "./ingress/scim-endpoint.js";
import type { SyncQueues } from "./queues.js";
import { mostlyRefused, QUIET_REFUSALS_THAT_ALARM, refusedAllDay } from "./refusals.js";

export interface OperationsProps {
  readonly queues: SyncQueues;
  /** The desired-state directory, for its throttling alarm. */
  readonly directory: DirectoryTable;
  /** Events EventBridge could not deliver, when an EventBridge rule exists. */
  readonly eventBridgeDeadLetter?: sqs.IQueue;
  /** The sources' EventBridge rules, each alarmed on deliveries to the ingest queue that fail. */
  readonly eventBridgeRules?: readonly { readonly id: string; readonly rule: events.IRule }[];
  readonly ingestFunction: lambda.IFunction;
  readonly applyFunction: lambda.IFunction;
  readonly departuresFunction: lambda.IFunction;
  /** Each enabled source's webhook endpoint, with what its alarms say. */
  readonly endpoints: readonly {
    readonly id: string;
    readonly endpoint: EndpointToQueue;
    readonly text: { readonly rejected: string; readonly errors: string };
  }[];
  /** The enabled sources that call their provider's API, for the throttling graph. */
  readonly hydratingSources: readonly string[];
  /** The SCIM endpoint, when enabled. */
  readonly scim?: ScimEndpoint;
  /** The scheduled full reconciliation, when enabled. */
  readonly fullSync?: FullSync;
  /** Alarms of the webhook sources (refused requests, subscriptions not renewed). @default none */
  readonly webhookAlarms?: readonly AlarmSpec[];
  /** Whether `sync.departureBrake` is on: its `DeparturesHeld` alarm is made only then. */
  readonly departureBrake: boolean;
  /** Alarm when the oldest message in a source queue is older than this. */
  readonly maxMessageAge: Duration;
  /** Where alarms are sent. @default - alarms without actions */
  readonly alarmTopic: sns.ITopic;
}

const fiveMinutes = { period: Duration.minutes(5) };

/** An alarm a part of the stack asks for, with what it tells the operator. */
export interface AlarmSpec {
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly text: string;
  /** @default one period at or over the threshold fires it; missing data does not */
  readonly options?: AlarmOptions;
}

type AlarmOptions = Partial<
  Pick<cloudwatch.AlarmProps, "evaluationPeriods" | "comparisonOperator" | "treatMissingData">
>;

export function createAlarms(scope: Construct, props: OperationsProps): cloudwatch.Alarm[] {
  const { queues, maxMessageAge } = props;
  const alarms: cloudwatch.Alarm[] = [];
  const add = (
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    description: string,
    options: AlarmOptions = {},
  ) => {
    const alarm = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator:
        options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    alarms.push(alarm);
  };
  for (const [id, dlq] of [
    ["IngestDeadLetters", queues.ingestDeadLetter],
    ["CommandsDeadLetters", queues.reconcileDeadLetter],
  ] as const) {
    add(
      `${id}Alarm`,
      dlq.metricApproximateNumberOfMessagesVisible({ ...fiveMinutes, statistic: "Maximum" }),
      1,
      `Messages in ${id}: read their errorType and errorMessage attributes, fix, then redrive (README "Dead letters")`,
    );
  }
  add(
    "SchedulesDeadLettersAlarm",
    queues.schedulesDeadLetter.metricApproximateNumberOfMessagesVisible({
      ...fiveMinutes,
      statistic: "Maximum",
    }),
    1,
    "A schedule (the full reconciliation, or a webhook's subscription upkeep) could not start its target for an hour: read the message's ERROR_CODE and ERROR_MESSAGE attributes, fix the target or its role, and start it by hand",
  );
  for (const [id, source] of [
    ["IngestQueueAge", queues.ingest],
    ["CommandsQueueAge", queues.reconcile],
    ["DeparturesQueueAge", queues.departures],
  ] as const) {
    add(
      `${id}Alarm`,
      source.metricApproximateAgeOfOldestMessage({ ...fiveMinutes, statistic: "Maximum" }),
      maxMessageAge.toSeconds(),
      `Oldest message in ${id} is older than ${maxMessageAge.toHumanString()}: its function is throttled by Tallyfy, failing, or starved of concurrency. Look at "Tallyfy 429s" and "retried" on the dashboard, and at the function's errors and throttles alarms`,
    );
  }
  // A provider that does not retry a 4xx (Okta does not) loses the event: either alarm means events were lost.
  for (const { id, endpoint, text } of props.endpoints) {
    const requests = { refused: endpoint.api.metricClientError(), all: endpoint.api.metricCount() };
    add(`${id}RejectedAlarm`, mostlyRefused(`${id}: mostly refused`, requests), 1, text.rejected);
    add(
      `${id}RejectedAllDayAlarm`,
      refusedAllDay(`${id}: refused all day`, requests),
      1,
      `In a day, at least ${QUIET_REFUSALS_THAT_ALARM} requests were refused and none accepted (a quiet tenant's wrong key): ${text.rejected}`,
    );
    add(
      `${id}ErrorsAlarm`,
      endpoint.api.metricServerError({ ...fiveMinutes, statistic: "Sum" }),
      1,
      text.errors,
    );
  }
  if (props.scim) {
    const { api } = props.scim;
    add(
      "ScimErrorsAlarm",
      api.metricServerError({ ...fiveMinutes, statistic: "Sum" }),
      1,
      "The SCIM endpoint failed requests; the identity provider retries them: see the scim function's logs",
    );
    // A few refusals are ordinary SCIM (a userName taken, a filter the endpoint does not support);
    // a run of them is a wrong token or a mapping the endpoint refuses, and provisioning stalls.
    add(
      "ScimRejectedAlarm",
      api.metricClientError({ ...fiveMinutes, statistic: "Sum" }),
      20,
      "Many refused SCIM requests: a wrong token in the identity provider (401), or attributes or filters it sends that the endpoint refuses (400). Read the provider's provisioning log: it names each request and the SCIM error's detail",
      { comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    );
    // Three periods in a row: one slow cold start or bulk patch is not worth waking anyone for.
    add(
      "ScimLatencyAlarm",
      api.metricLatency({ ...fiveMinutes, statistic: "p99" }),
      5_000,
      "The SCIM endpoint's p99 latency has been over 5 s for 15 minutes: identity providers time out and retry; see the scim function's duration and the directory's throttling",
      { evaluationPeriods: 3, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    );
  }
  if (props.eventBridgeDeadLetter) {
    add(
      "EventBridgeDeadLettersAlarm",
      props.eventBridgeDeadLetter.metricApproximateNumberOfMessagesVisible({
        ...fiveMinutes,
        statistic: "Maximum",
      }),
      1,
      'EventBridge could not deliver identity events to the ingest queue for a day: read them (README "Dead letters") and send them to the ingest queue',
    );
  }
  for (const { id, rule } of props.eventBridgeRules ?? []) {
    add(
      `${id}FailedDeliveriesAlarm`,
      new cloudwatch.Metric({
        namespace: "AWS/Events",
        metricName: "FailedInvocations",
        dimensionsMap: { RuleName: rule.ruleName },
        statistic: "Sum",
        ...fiveMinutes,
      }),
      1,
      `EventBridge failed to deliver ${id} events to the ingest queue (it retries for a day, then they go to the EventBridge dead-letter queue): check the queue's policy and encryption`,
    );
  }
  for (const alarm of [...(props.fullSync?.alarms() ?? []), ...(props.webhookAlarms ?? [])])
    add(alarm.id, alarm.metric, alarm.threshold, alarm.text, alarm.options);
  if (props.departureBrake) {
    add(
      "DeparturesHeldAlarm",
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: MetricName.DeparturesHeld,
        dimensionsMap: { service: serviceOf(scope) },
        statistic: "Sum",
        // A minute: a held departure is a person who left and still has access.
        period: Duration.minutes(1),
      }),
      1,
      "The departure brake held a departure past its source's limit: the person is still active in Tallyfy. Run `npx tallyfy-idp-sync holds list`, then approve or reject",
    );
  }
  add(
    "DirectoryThrottledAlarm",
    props.directory.metricThrottled(),
    1,
    'DynamoDB throttled the directory: events and reconciles are retried, and dead-lettered with their reason if it persists. Redrive the dead letters once it passes (README "Dead letters")',
  );
  for (const [id, fn] of [
    ["Ingest", props.ingestFunction],
    ["Apply", props.applyFunction],
    ["Departures", props.departuresFunction],
  ] as const) {
    add(
      `${id}ErrorsAlarm`,
      fn.metricErrors({ ...fiveMinutes, statistic: "Sum" }),
      1,
      `${id} function invocations failed as a whole (record failures do not count: they are retried or dead-lettered): read the function's log group`,
    );
    add(
      `${id}ThrottlesAlarm`,
      fn.metricThrottles({ ...fiveMinutes, statistic: "Sum" }),
      1,
      `Lambda throttled the ${id} function: raise the account's Lambda concurrency, or lower ${id === "Ingest" ? "ingestMaxConcurrency" : "applyMaxConcurrency"}`,
    );
  }
  return alarms;
}

export function createDashboard(scope: Construct, props: OperationsProps): cloudwatch.Dashboard {
  const { queues } = props;
  const app = (metricName: MetricName, label: string, dimensions: Record<string, string> = {}) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: serviceOf(scope), ...dimensions },
      statistic: "Sum",
      period: Duration.minutes(5),
      label,
    });
  const dashboard = new cloudwatch.Dashboard(scope, "Dashboard", {
    dashboardName: `${uniqueName(scope)}-tallyfy-idp-sync`,
  });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Events and reconciles",
      width: 12,
      left: [
        app(MetricName.EventsReceived, "events in"),
        app(MetricName.Reconciled, "reconciles that changed Tallyfy"),
        app(MetricName.NoOps, "no-ops"),
        app(MetricName.Ignored, "ignored"),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: "Failures and rate limits",
      width: 12,
      left: [
        app(MetricName.DeadLettered, "dead-lettered"),
        app(MetricName.Retried, "retried"),
        app(MetricName.TallyfyThrottled, "Tallyfy 429s"),
        app(MetricName.GuestProfileNotApplied, "guest profiles Tallyfy kept"),
        ...props.hydratingSources.map((source) =>
          app(MetricName.SourceThrottled, `${source} 429s`, { source }),
        ),
      ],
      right: [app(MetricName.TallyfyWrites, "Tallyfy writes")],
    }),
    new cloudwatch.GraphWidget({
      title: "Age of oldest message (s)",
      width: 12,
      left: [
        queues.ingest.metricApproximateAgeOfOldestMessage(),
        queues.reconcile.metricApproximateAgeOfOldestMessage(),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: "Dead-letter queues",
      width: 12,
      left: [
        queues.ingestDeadLetter.metricApproximateNumberOfMessagesVisible(),
        queues.reconcileDeadLetter.metricApproximateNumberOfMessagesVisible(),
      ],
    }),
  );
  if (props.scim) {
    const { api } = props.scim;
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "SCIM endpoint",
        width: 24,
        left: [
          api.metricCount({ ...fiveMinutes, statistic: "Sum", label: "requests" }),
          api.metricClientError({ ...fiveMinutes, statistic: "Sum", label: "4xx (refused)" }),
          api.metricServerError({ ...fiveMinutes, statistic: "Sum", label: "5xx (failed)" }),
        ],
        right: [api.metricLatency({ ...fiveMinutes, statistic: "p99", label: "p99 latency (ms)" })],
      }),
    );
  }
  return dashboard;
}

/**
 * The topic the alarms notify, made whether or not anyone is subscribed yet: an alarm without an
 * action reaches nobody, and a subscription can be added to the topic later without a deploy.
 */
export function alarmTopicFor(scope: Construct, email: string | undefined, chat: boolean): sns.Topic {
  const topic = new sns.Topic(scope, "AlarmTopic", {
    displayName: "tallyfy-idp-sync alarms",
    enforceSSL: true,
  });
  // An explicit topic policy (the TLS-only Deny) replaces SNS's default one, which is what let
  // CloudWatch publish: say so again, for this account's alarms only.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "AllowThisAccountsAlarms",
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID },
        ArnLike: {
          "aws:SourceArn": `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
        },
      },
    }),
  );
  if (email) topic.addSubscription(new subscriptions.EmailSubscription(email));
  else if (!chat)
    Annotations.of(scope).addWarningV2(
      "tallyfy-idp-sync:alarms-unsubscribed",
      "nobody is subscribed to the alarm topic: set alarmEmail or notifications in cdk.json, or subscribe to the topic in the AlarmTopicArn output after deploying",
    );
  return topic;
}
