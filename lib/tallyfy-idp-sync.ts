/**
 * `TallyfyIdpSync`: the whole product as one construct. It composes the pieces, each built on
 * this construct's scope so every logical id stays the construct's own:
 * - `pipeline.ts`: queues, the directory table, secrets, the ingest and apply functions;
 * - `source-ingress.ts`: what each enabled identity source asks for (endpoints, rules, webhooks,
 *   subscription upkeep) and the SCIM endpoint;
 * - `full-sync.ts`: the scheduled full reconciliation;
 * - `operations.ts`, `outputs.ts`, `acknowledgements.ts`: alarms and dashboard, outputs, cdk-nag.
 * Props and their validation are in `props.ts`. Infrastructure only: the runtime code it bundles
 * lives under `handlers/`.
 */
import type {
  aws_cloudwatch as cloudwatch,
  aws_lambda as lambda,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import { SyncConfigSchema } from "../handlers/sources/index.js";
import { acknowledge } from "./acknowledgements.js";
import type { DirectoryTable } from "./directory-table.js";
import { type FullSync, fullSyncFor } from "./full-sync.js";
import { type EndpointToQueue, pascal } from "./ingress/endpoint-to-queue.js";
import type { ScimEndpoint } from "./ingress/scim-endpoint.js";
import type { WebhookEndpoint } from "./ingress/webhook-endpoint.js";
import { chatChannelsFor } from "./notifications.js";
import { alarmTopicFor, createAlarms, createDashboard } from "./operations.js";
import { createOutputs } from "./outputs.js";
import { buildPipeline } from "./pipeline.js";
import { type TallyfyIdpSyncProps, validate } from "./props.js";
import { fullSyncFraction } from "./rate-budget.js";
import { VISIBILITY_FACTOR } from "./settings.js";
import { buildSourceIngress } from "./source-ingress.js";
import type { SubscriptionUpkeep } from "./subscriptions.js";

export type {
  EventBridgeSourceProps,
  FullSyncSettings,
  NotificationsProps,
  OktaSourceProps,
  ScimProps,
  SourceProps,
  TallyfyIdpSyncProps,
} from "./props.js";
export { TallyfyIdpSyncPropsError } from "./props.js";
export { VISIBILITY_FACTOR };

export class TallyfyIdpSync extends Construct {
  /** Where identity events arrive (standard queue). */
  public readonly ingestQueue: sqs.Queue;
  public readonly ingestDeadLetterQueue: sqs.Queue;
  /** Reconcile messages, one FIFO group per person or group. */
  public readonly reconcileQueue: sqs.Queue;
  public readonly reconcileDeadLetterQueue: sqs.Queue;
  /** The desired-state directory. */
  public readonly directory: DirectoryTable;
  /** Where EventBridge puts events it could not deliver; only when a rule exists. */
  public readonly eventBridgeDeadLetterQueue?: sqs.Queue;
  public readonly ingestFunction: lambda.Function;
  public readonly applyFunction: lambda.Function;
  /** The departures lane's apply function: departures and demotions, booking Tallyfy's budget ahead of joins. */
  public readonly departuresFunction: lambda.Function;
  public readonly tallyfySecret: secretsmanager.ISecret;
  /** Each enabled source's credential secret, by source id. */
  public readonly sourceSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  /** Each API-to-queue endpoint, by source id. */
  public readonly endpoints: ReadonlyMap<string, EndpointToQueue>;
  public readonly alarms: cloudwatch.Alarm[];
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarmTopic: sns.ITopic;
  /** What the schedules (full reconciliation, subscriptions' upkeep) could not start. */
  public readonly schedulesDeadLetterQueue: sqs.IQueue;
  /** The SCIM endpoint, when enabled. */
  public readonly scim?: ScimEndpoint;
  /** The scheduled full reconciliation, unless turned off. */
  public readonly fullSync?: FullSync;
  /** Each function-backed webhook, by source id. */
  public readonly webhooks: ReadonlyMap<string, WebhookEndpoint>;
  /** The subscription function, when a webhook keeps subscriptions. */
  public readonly subscriptionUpkeep?: SubscriptionUpkeep;

  /** The Okta credential secret, when Okta is enabled. */
  public get oktaSecret(): secretsmanager.ISecret | undefined {
    return this.sourceSecrets.get("okta");
  }

  /** The Okta Event Hook endpoint, when enabled. */
  public get oktaEventHook(): EndpointToQueue | undefined {
    return this.endpoints.get("okta");
  }

  public constructor(scope: Construct, id: string, props: TallyfyIdpSyncProps) {
    super(scope, id);
    const settings = validate(props);
    const syncConfig = SyncConfigSchema.parse(props.syncConfig);
    const fraction = fullSyncFraction(props.fullSync);

    // Setup the queues, the directory, the secrets and the two functions of the pipeline
    const pipeline = buildPipeline(this, { props, settings, syncConfig, fullSyncFraction: fraction });
    const { queues, enabled } = pipeline;
    this.ingestQueue = queues.ingest;
    this.ingestDeadLetterQueue = queues.ingestDeadLetter;
    this.reconcileQueue = queues.reconcile;
    this.reconcileDeadLetterQueue = queues.reconcileDeadLetter;
    this.schedulesDeadLetterQueue = queues.schedulesDeadLetter;
    this.directory = pipeline.directory;
    this.tallyfySecret = pipeline.tallyfySecret;
    this.sourceSecrets = new Map(enabled.flatMap((e) => (e.secret ? [[e.source.id, e.secret]] : [])));
    this.ingestFunction = pipeline.ingestFunction;
    this.applyFunction = pipeline.applyFunction;
    this.departuresFunction = pipeline.departuresFunction;

    // Setup the ingress each enabled source asks for, and the full reconciliation
    const ingress = buildSourceIngress(this, pipeline, { props, settings, syncConfig });
    this.eventBridgeDeadLetterQueue = ingress.eventBridgeDeadLetterQueue;
    this.endpoints = ingress.endpoints;
    this.webhooks = ingress.webhooks;
    this.subscriptionUpkeep = ingress.subscriptionUpkeep;
    this.scim = ingress.scim;
    this.fullSync =
      props.fullSync?.enabled === false
        ? undefined
        : fullSyncFor(this, pipeline, { props, settings, fraction });

    // Setup alarms, the dashboard and the outputs
    const chat = Boolean(props.notifications?.slack || props.notifications?.teams);
    this.alarmTopic = props.alarmTopic ?? alarmTopicFor(this, props.alarmEmail, chat);
    if (props.notifications) chatChannelsFor(this, this.alarmTopic, props.notifications);
    const operations = {
      queues,
      directory: this.directory,
      eventBridgeDeadLetter: ingress.eventBridgeDeadLetterQueue,
      eventBridgeRules: ingress.eventBridgeRules,
      ingestFunction: this.ingestFunction,
      applyFunction: this.applyFunction,
      departuresFunction: this.departuresFunction,
      endpoints: enabled.flatMap(({ source }) => {
        const endpoint = ingress.endpoints.get(source.id);
        const text = source.deployment?.endpoint?.alarmText;
        return endpoint && text ? [{ id: `${pascal(source.id)}Hook`, endpoint, text }] : [];
      }),
      hydratingSources: enabled.filter((e) => e.source.connect).map((e) => e.source.id),
      scim: this.scim,
      fullSync: this.fullSync,
      webhookAlarms: [
        ...[...this.webhooks].flatMap(([sourceId, webhook]) => webhook.alarms(`${pascal(sourceId)}Webhook`)),
        ...(this.subscriptionUpkeep?.alarms() ?? []),
      ],
      maxMessageAge: settings.maxMessageAge,
      departureBrake: syncConfig.departureBrake !== false,
      alarmTopic: this.alarmTopic,
    };
    this.alarms = createAlarms(this, operations);
    this.dashboard = createDashboard(this, operations);
    createOutputs(this, {
      queues,
      directory: this.directory,
      applyFunction: this.applyFunction,
      eventBridgeDeadLetterQueue: this.eventBridgeDeadLetterQueue,
      tallyfySecret: this.tallyfySecret,
      sourceSecrets: this.sourceSecrets,
      fullSync: this.fullSync,
      dashboard: this.dashboard,
      alarmTopic: this.alarmTopic,
    });
    acknowledge(this, enabled, props);
  }
}
