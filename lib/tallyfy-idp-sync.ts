/**
 * `TallyfyIdpSync`: the whole product as one construct. Queues, the two Lambdas and their event
 * source mappings, the Tallyfy secret, an optional EventBridge route, an optional SCIM endpoint,
 * alarms and a dashboard.
 * Infrastructure only: the runtime code it bundles lives under `handlers/`.
 */
import {
  Annotations,
  Aws,
  CfnOutput,
  type aws_cloudwatch as cloudwatch,
  Duration,
  aws_events as events,
  aws_iam as iam,
  type aws_logs as logs,
  RemovalPolicy,
  SecretValue,
  Stack,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Construct } from "constructs";
import type * as z from "zod";
import type { SyncConfigInput } from "../handlers/core/config.js";
import { describeIssues } from "../handlers/core/issues.js";
import { type AnyIdentitySource, webhookVariable } from "../handlers/core/source.js";
import { SOURCES, SyncConfigSchema } from "../handlers/sources/index.js";
import { DirectoryTable } from "./directory-table.js";
import { FullSync } from "./full-sync.js";
import { syncFunction } from "./functions.js";
import { EndpointToQueue, pascal } from "./ingress/endpoint-to-queue.js";
import { eventBridgeToQueue } from "./ingress/eventbridge-to-queue.js";
import { type EndpointLogging, uniqueName } from "./ingress/rest-api.js";
import { ScimEndpoint } from "./ingress/scim-endpoint.js";
import { awsApiGrant, routeProblems, wantedRoutes } from "./ingress/source-routes.js";
import { WebhookEndpoint } from "./ingress/webhook-endpoint.js";
import { createAlarms, createDashboard } from "./operations.js";
import { createQueues } from "./queues.js";
import { Setting, VISIBILITY_FACTOR } from "./settings.js";
import { SubscriptionUpkeep } from "./subscriptions.js";

export { VISIBILITY_FACTOR };

/** Routes matching events from an EventBridge bus (e.g. an identity provider's partner bus) to the ingest queue. */
export interface EventBridgeSourceProps {
  /**
   * Name of the event bus, e.g. `aws.partner/okta.com/acme/tallyfy`. Avoid `default`: any
   * principal allowed `events:PutEvents` on it could send identity events.
   * @default - a bus of its own, created by this stack, for your producers
   */
  readonly eventBusName?: string;
  /** Which events to route. */
  readonly eventPattern: events.EventPattern;
}

/** An identity source's deployment: what lib/ builds for it (see its `deployment.ts`). */
export interface SourceProps {
  /**
   * An existing secret holding the source's credential (README, the source's section).
   * @default - a new secret holding `{}`, to be filled after deployment
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * Build the source's webhook endpoint, when it has one: API Gateway straight to the ingest
   * queue, or (Entra ID, Google Workspace) a small function that checks the provider's secret,
   * with the subscription function that keeps the provider's subscriptions to it.
   * @default false
   */
  readonly endpoint?: boolean;

  /**
   * The EventBridge bus the provider writes to: a rule routes the source's events to the ingest queue.
   * For a source with several rules, the bus of the first (see `eventBusNames`).
   * @default - no rule
   */
  readonly eventBusName?: string;

  /**
   * The bus of each of the source's EventBridge rules, by rule name (Auth0: `LogStream`,
   * `EventStream`; Identity Center: `CloudTrail`, whose bus is `default`). Only the rules named
   * here (or the first, by `eventBusName`) are built.
   * @default - only the rule `eventBusName` gives
   */
  readonly eventBusNames?: Readonly<Record<string, string>>;
}

/** Okta as an event source (README "Okta"): the names cdk.json has always used for its {@link SourceProps}. */
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

/** The SCIM 2.0 endpoint identity providers provision into (see `ScimEndpoint`). */
export interface ScimProps {
  /**
   * Build the endpoint: an API, its function and the token secret.
   * @default false
   */
  readonly enabled?: boolean;

  /**
   * An existing secret holding the bearer token (a plain string, or `{"token", "previousToken"}`).
   * @default - a new secret holding a 64-character token generated at deployment
   */
  readonly tokenSecret?: secretsmanager.ISecret;

  /**
   * Steady requests a second the stage accepts before answering 429.
   * @default 25
   */
  readonly throttlingRateLimit?: number;

  /**
   * Requests accepted in a burst.
   * @default 50
   */
  readonly throttlingBurstLimit?: number;
}

/** The scheduled full reconciliation (see `FullSync` and README "Operations"). */
export interface FullSyncSettings {
  /**
   * Build the schedule, the state machine, the function and the report bucket.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * When a run starts, as an EventBridge Scheduler expression.
   * @default "rate(1 day)"
   */
  readonly schedule?: string;
  /**
   * The most departures one run applies, as a share of the people a source manages; above it the
   * run stops, changes nothing, and alarms.
   * @default 0.05
   */
  readonly maxDepartureShare?: number;
  /**
   * The full sync's share of the Tallyfy budget and of each listing source's; events keep the
   * rest (the apply functions pace at the remainder).
   * @default 0.1
   */
  readonly budgetShare?: number;
  /**
   * Alarm when one run corrects at least this many people and groups.
   * @default 25
   */
  readonly driftAlarmThreshold?: number;
  /**
   * Days a drift report is kept.
   * @default 90
   */
  readonly reportRetentionDays?: number;
}

export interface TallyfyIdpSyncProps {
  /**
   * The sync configuration (see README "Configuration"): member domains, role groups, group
   * mapping, deprovisioning. Validated at synth time.
   */
  readonly syncConfig: SyncConfigInput;

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
   * per user; each apply function makes a few calls per reconcile at 30-100 ms each, so 2 keeps
   * well inside the limit while 429s are still retried.
   * @default 2
   */
  readonly applyMaxConcurrency?: number;

  /**
   * Tallyfy's rate budget for the token, requests a minute (Tallyfy documents 600 per user). The
   * apply functions share it: each paces its requests at this divided by `applyMaxConcurrency`,
   * and slows down further on a 429 or a low `X-RateLimit-Remaining`.
   * @default 600
   */
  readonly tallyfyRequestsPerMinute?: number;

  /**
   * At most this many ingest functions run at once. Each reads the directory, and a source that
   * hydrates (Okta) calls its provider's API per event: a bulk change fans out no wider than this.
   * @default 5
   */
  readonly ingestMaxConcurrency?: number;

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
   * Identity sources to deploy, by their registry id (`handlers/sources/index.ts`); `okta` above
   * is the same as `sources.okta`.
   * @default - none: only canonical events
   */
  readonly sources?: Readonly<Record<string, SourceProps>>;

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

  /**
   * CloudWatch logging of the endpoints' stages, webhooks and SCIM (see `EndpointLogging`): API
   * Gateway logs only through a region-wide role, which this stack sets only with
   * `"create-account-role"`.
   * @default "off"
   */
  readonly apiLogging?: EndpointLogging;

  /**
   * Only these address ranges (CIDR) may call the endpoints, webhooks and SCIM alike: the identity
   * providers' published egress ranges (all of them, when SCIM and a webhook come from different
   * providers). The API key or bearer token is still required.
   * @default - any address
   */
  readonly endpointAllowedCidrs?: readonly string[];

  /**
   * A regional WAF web ACL's ARN to associate with every endpoint's stage, webhooks and SCIM.
   * @default - none
   */
  readonly endpointWebAclArn?: string;

  /**
   * X-Ray active tracing of the functions: Lambda's own segments (invocation, cold start), no
   * tracing SDK in the bundle, so no cost to import time; X-Ray charges per trace.
   * @default false
   */
  readonly tracing?: boolean;

  /**
   * A SCIM 2.0 endpoint for Entra ID or Okta provisioning.
   * @default - none
   */
  readonly scim?: ScimProps;

  /**
   * The scheduled full reconciliation: the safety net for lost events.
   * @default - daily, at most 5% deprovisioned in a run
   */
  readonly fullSync?: FullSyncSettings;
}

/** Props that fail validation, all reported at once. */
export class TallyfyIdpSyncPropsError extends Error {
  public constructor(problems: readonly string[]) {
    super(`TallyfyIdpSync: invalid props:\n  - ${problems.join("\n  - ")}`);
    this.name = "TallyfyIdpSyncPropsError";
  }
}

/** An enabled source, with what the stack built for it. */
interface Enabled {
  readonly source: AnyIdentitySource;
  readonly props: SourceProps;
  readonly secret?: secretsmanager.ISecret;
}

export class TallyfyIdpSync extends Construct {
  /** Identity events arrive here (standard queue). */
  public readonly ingestQueue: sqs.Queue;
  public readonly ingestDeadLetterQueue: sqs.Queue;
  /** "Reconcile this person / group" messages (FIFO, one message group per entity). */
  public readonly reconcileQueue: sqs.Queue;
  public readonly reconcileDeadLetterQueue: sqs.Queue;
  /** The desired-state directory. */
  public readonly directory: DirectoryTable;
  /** Events EventBridge could not deliver to the ingest queue, when any rule routes there. */
  public readonly eventBridgeDeadLetterQueue?: sqs.Queue;
  public readonly ingestFunction: NodejsFunction;
  public readonly applyFunction: NodejsFunction;
  public readonly tallyfySecret: secretsmanager.ISecret;
  /** Each enabled source's credential, by source id. */
  public readonly sourceSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  /** Each enabled source's webhook endpoint, by source id. */
  public readonly endpoints: ReadonlyMap<string, EndpointToQueue>;
  public readonly alarms: cloudwatch.Alarm[];
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarmTopic?: sns.ITopic;
  /** The SCIM 2.0 endpoint, when enabled. */
  public readonly scim?: ScimEndpoint;
  /** The scheduled full reconciliation, unless turned off. */
  public readonly fullSync?: FullSync;
  /** Each enabled source's function-backed webhook (Entra ID, Google Workspace), by source id. */
  public readonly webhooks: ReadonlyMap<string, WebhookEndpoint>;
  /** The function keeping the webhook sources' subscriptions alive, when any is enabled. */
  public readonly subscriptionUpkeep?: SubscriptionUpkeep;

  /** The Okta credential, when Okta is enabled. */
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

    // Setup the queues
    const queues = createQueues(this, settings);
    this.ingestQueue = queues.ingest;
    this.ingestDeadLetterQueue = queues.ingestDeadLetter;
    this.reconcileQueue = queues.reconcile;
    this.reconcileDeadLetterQueue = queues.reconcileDeadLetter;

    // Setup the desired-state directory
    this.directory = new DirectoryTable(this, "Directory");

    // Setup the secrets: by reference, or created holding "{}" for the administrator to fill
    this.tallyfySecret =
      props.tallyfySecret ??
      new secretsmanager.Secret(this, "TallyfySecret", {
        description:
          'Tallyfy API credential for tallyfy-idp-sync: {"accessToken": "..."} or {"clientId", "clientSecret", "tokenUrl"}',
        secretStringValue: SecretValue.unsafePlainText("{}"),
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const enabled: Enabled[] = settings.sources.map(({ source, props: sourceProps }) => {
      const wanted = source.deployment?.secret;
      const secret =
        wanted &&
        (sourceProps.secret ??
          new secretsmanager.Secret(this, `${pascal(source.id)}Secret`, {
            description: wanted.description,
            secretStringValue: SecretValue.unsafePlainText("{}"),
            removalPolicy: RemovalPolicy.RETAIN,
          }));
      return { source, props: sourceProps, secret };
    });
    this.sourceSecrets = new Map(enabled.flatMap((e) => (e.secret ? [[e.source.id, e.secret]] : [])));

    // Setup the functions
    const fullSyncShare = props.fullSync?.enabled === false ? 0 : (props.fullSync?.budgetShare ?? 0.1);
    const common = {
      SYNC_CONFIG: JSON.stringify(syncConfig),
      MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
      RECONCILE_QUEUE_URL: this.reconcileQueue.queueUrl,
      DIRECTORY_TABLE_NAME: this.directory.table.tableName,
    };
    this.ingestFunction = syncFunction(this, "IngestFunction", {
      entry: "ingest.ts",
      timeout: settings.ingestTimeout,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        ...common,
        DEAD_LETTER_QUEUE_URL: this.ingestDeadLetterQueue.queueUrl,
        INGEST_QUEUE_URL: this.ingestQueue.queueUrl,
        // Each hydrating source's share of its provider's rate budget, less what the full
        // reconciliation keeps for listing it, so together they stay under the budget.
        ...Object.fromEntries(
          enabled.flatMap(({ source }) => {
            const budget = source.deployment?.rateBudget;
            const kept = source.listUsers ? fullSyncShare : 0;
            return budget
              ? [
                  [
                    budget.variable,
                    String(
                      Math.max(
                        1,
                        Math.floor((budget.perMinute * (1 - kept)) / settings.ingestMaxConcurrency),
                      ),
                    ),
                  ],
                ]
              : [];
          }),
        ),
        // Each source's secret by id, under the variable the source reads.
        ...Object.fromEntries(
          enabled.flatMap(({ source, secret }) => {
            const variable = source.deployment?.secret?.variable;
            return variable && secret ? [[variable, secret.secretArn]] : [];
          }),
        ),
      },
    });
    this.applyFunction = syncFunction(this, "ApplyFunction", {
      entry: "apply.ts",
      timeout: settings.applyTimeout,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        ...common,
        DEAD_LETTER_QUEUE_URL: this.reconcileDeadLetterQueue.queueUrl,
        TALLYFY_SECRET_ID: this.tallyfySecret.secretArn,
        TALLYFY_ORG_ID: props.tallyfyOrganizationId,
        TALLYFY_API_URL: props.tallyfyApiUrl ?? "https://go.tallyfy.com/api",
        // The full sync's share is kept back: it reads Tallyfy with the same token.
        TALLYFY_REQUESTS_PER_MINUTE: String(
          Math.max(
            1,
            Math.floor(
              (settings.tallyfyRequestsPerMinute * (1 - fullSyncShare)) / settings.applyMaxConcurrency,
            ),
          ),
        ),
      },
    });

    // Setup the event source mappings and least-privilege grants
    this.ingestFunction.addEventSource(
      new SqsEventSource(this.ingestQueue, {
        batchSize: settings.ingestBatchSize,
        maxBatchingWindow: settings.ingestBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: settings.ingestMaxConcurrency,
      }),
    );
    this.applyFunction.addEventSource(
      new SqsEventSource(this.reconcileQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: settings.applyMaxConcurrency,
      }),
    );
    this.reconcileQueue.grantSendMessages(this.ingestFunction);
    this.ingestDeadLetterQueue.grantSendMessages(this.ingestFunction);
    this.reconcileQueue.grantSendMessages(this.applyFunction);
    this.reconcileDeadLetterQueue.grantSendMessages(this.applyFunction);
    this.directory.grantRecord(this.ingestFunction);
    this.directory.grantReconcile(this.applyFunction);
    this.tallyfySecret.grantRead(this.applyFunction);
    // A body with several events is split into a message each on the ingest queue.
    this.ingestQueue.grantSendMessages(this.ingestFunction);
    for (const { secret } of enabled) secret?.grantRead(this.ingestFunction);
    // A source that is an AWS service is read with the function's own role, on its resources only.
    for (const { source } of enabled) {
      const grant = awsApiGrant(source, syncConfig[source.id], {
        partition: Stack.of(this).partition,
        account: Stack.of(this).account,
      });
      if (grant && "actions" in grant) {
        this.ingestFunction.addToRolePolicy(new iam.PolicyStatement(grant));
      }
    }

    // Setup the ingress each enabled source asks for, and the optional custom EventBridge route
    const wantsEventBridge =
      props.eventBridge !== undefined ||
      enabled.some(({ source, props: p }) => wantedRoutes(source, p).length > 0);
    const eventBridgeDeadLetter = wantsEventBridge
      ? new sqs.Queue(this, "EventBridgeDeadLetterQueue", {
          encryption: sqs.QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          retentionPeriod: Duration.days(14),
        })
      : undefined;
    this.eventBridgeDeadLetterQueue = eventBridgeDeadLetter;
    if (props.eventBridge && eventBridgeDeadLetter) {
      const busName = props.eventBridge.eventBusName ?? this.#identityBus().eventBusName;
      if (busName === "default") {
        Annotations.of(this).addWarningV2(
          "tallyfy-idp-sync:default-bus",
          "eventBridge.eventBusName is the default bus: any principal allowed events:PutEvents on it can send identity events; leave eventBusName out for a bus of its own",
        );
      }
      eventBridgeToQueue(this, "IdentityEventsRule", {
        busId: "IdentityEventBus",
        eventBusName: busName,
        eventPattern: props.eventBridge.eventPattern,
        queue: this.ingestQueue,
        deadLetterQueue: eventBridgeDeadLetter,
      });
    }
    const endpoints = new Map<string, EndpointToQueue>();
    const sourceRules: { id: string; rule: events.Rule }[] = [];
    for (const { source, props: sourceProps } of enabled) {
      const { endpoint } = source.deployment ?? {};
      const name = pascal(source.id);
      if (endpoint && sourceProps.endpoint) {
        endpoints.set(
          source.id,
          new EndpointToQueue(this, `${name}${endpoint.name}`, {
            queue: this.ingestQueue,
            sourceId: source.id,
            endpoint,
            logRetention: props.logRetention,
            logging: props.apiLogging,
            allowedSourceCidrs: props.endpointAllowedCidrs,
            webAclArn: props.endpointWebAclArn,
          }),
        );
      }
      for (const { route, bus } of eventBridgeDeadLetter ? wantedRoutes(source, sourceProps) : []) {
        const { "detail-type": detailType, ...pattern } = route.pattern;
        const id = `${name}${route.name}`;
        const rule = eventBridgeToQueue(this, `${id}Rule`, {
          busId: `${id}EventBus`,
          eventBusName: bus,
          eventPattern: { ...pattern, detailType } as events.EventPattern,
          queue: this.ingestQueue,
          deadLetterQueue: eventBridgeDeadLetter as sqs.IQueue,
        });
        sourceRules.push({ id, rule });
      }
    }
    this.endpoints = endpoints;
    this.webhooks = this.#webhooks(enabled, syncConfig, props);
    this.subscriptionUpkeep = this.#upkeep(enabled, props, settings, common);
    this.scim = props.scim?.enabled ? this.#scim(props.scim, props, endpoints) : undefined;
    this.fullSync =
      props.fullSync?.enabled === false
        ? undefined
        : this.#fullSync(props.fullSync ?? {}, fullSyncShare, { common, enabled, settings, props });

    // Setup alarms and the dashboard
    this.alarmTopic = props.alarmTopic ?? (props.alarmEmail ? this.#alarmTopic(props.alarmEmail) : undefined);
    const operations = {
      queues,
      directory: this.directory,
      eventBridgeDeadLetter,
      eventBridgeRules: sourceRules,
      ingestFunction: this.ingestFunction,
      applyFunction: this.applyFunction,
      endpoints: enabled.flatMap(({ source }) => {
        const endpoint = endpoints.get(source.id);
        const text = source.deployment?.endpoint?.alarmText;
        return endpoint && text ? [{ id: `${pascal(source.id)}Hook`, endpoint, text }] : [];
      }),
      hydratingSources: enabled.filter((e) => e.source.connect).map((e) => e.source.id),
      scim: this.scim,
      fullSync: this.fullSync,
      webhookAlarms: [
        ...[...this.webhooks].flatMap(([id, webhook]) => webhook.alarms(`${pascal(id)}Webhook`)),
        ...(this.subscriptionUpkeep?.alarms() ?? []),
      ],
      maxMessageAge: settings.maxMessageAge,
      alarmTopic: this.alarmTopic,
    };
    this.alarms = createAlarms(this, operations);
    this.dashboard = createDashboard(this, operations);

    this.#outputs();
    this.#acknowledgements(enabled, props);
  }

  #fullSync(
    fullSync: FullSyncSettings,
    share: number,
    parts: {
      common: Record<string, string>;
      enabled: readonly Enabled[];
      settings: ReturnType<typeof validate>;
      props: TallyfyIdpSyncProps;
    },
  ): FullSync {
    const { common, enabled, settings, props } = parts;
    // Only the sources that can list their users are read, each at the full sync's share.
    const listing = enabled.filter(({ source }) => source.listUsers !== undefined);
    const construct = new FullSync(this, "FullSync", {
      schedule: fullSync.schedule,
      reportRetentionDays: fullSync.reportRetentionDays,
      driftAlarmThreshold: fullSync.driftAlarmThreshold,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        SYNC_CONFIG: common.SYNC_CONFIG ?? "",
        RECONCILE_QUEUE_URL: this.reconcileQueue.queueUrl,
        DIRECTORY_TABLE_NAME: this.directory.table.tableName,
        TALLYFY_SECRET_ID: this.tallyfySecret.secretArn,
        TALLYFY_ORG_ID: props.tallyfyOrganizationId,
        TALLYFY_API_URL: props.tallyfyApiUrl ?? "https://go.tallyfy.com/api",
        TALLYFY_REQUESTS_PER_MINUTE: String(
          Math.max(1, Math.floor(settings.tallyfyRequestsPerMinute * share)),
        ),
        FULL_SYNC_MAX_DEPARTURE_SHARE: String(fullSync.maxDepartureShare ?? 0.05),
        ...Object.fromEntries(
          listing.flatMap(({ source, secret }) => {
            const variable = source.deployment?.secret?.variable;
            const budget = source.deployment?.rateBudget;
            return [
              ...(variable && secret ? [[variable, secret.secretArn]] : []),
              ...(budget
                ? [[budget.variable, String(Math.max(1, Math.floor(budget.perMinute * share)))]]
                : []),
            ];
          }),
        ),
      },
    });
    this.directory.grantFullSync(construct.function);
    this.reconcileQueue.grantSendMessages(construct.function);
    this.tallyfySecret.grantRead(construct.function);
    for (const { secret } of listing) secret?.grantRead(construct.function);
    return construct;
  }

  /** A function-backed endpoint for each enabled source that has a webhook and asked for its endpoint. */
  #webhooks(
    enabled: readonly Enabled[],
    syncConfig: Record<string, unknown>,
    props: TallyfyIdpSyncProps,
  ): Map<string, WebhookEndpoint> {
    const webhooks = new Map<string, WebhookEndpoint>();
    for (const { source, props: sourceProps } of enabled) {
      const webhook = source.deployment?.webhook;
      if (!webhook || !sourceProps.endpoint) continue;
      const sourceConfig = (syncConfig[source.id] ?? {}) as Record<string, unknown>;
      const environment = Object.fromEntries(
        Object.entries(webhook.variables ?? {}).flatMap(([variable, key]) => {
          const value = sourceConfig[key];
          return typeof value === "string" && value !== "" ? [[variable, value]] : [];
        }),
      );
      webhooks.set(
        source.id,
        new WebhookEndpoint(this, `${pascal(source.id)}${webhook.name}`, {
          sourceId: source.id,
          webhook,
          ingestQueue: this.ingestQueue,
          environment,
          logRetention: props.logRetention,
          logging: props.apiLogging,
          allowedSourceCidrs: props.endpointAllowedCidrs,
          webAclArn: props.endpointWebAclArn,
          tracing: props.tracing,
        }),
      );
    }
    return webhooks;
  }

  /** The subscription function, when any enabled webhook keeps subscriptions. */
  #upkeep(
    enabled: readonly Enabled[],
    props: TallyfyIdpSyncProps,
    settings: ReturnType<typeof validate>,
    common: Record<string, string>,
  ): SubscriptionUpkeep | undefined {
    const kept = enabled.flatMap(({ source, secret }) => {
      const endpoint = this.webhooks.get(source.id);
      const subscriptions = source.deployment?.webhook?.subscriptions;
      return endpoint && subscriptions ? [{ source, secret, endpoint, subscriptions }] : [];
    });
    if (kept.length === 0) return undefined;
    const upkeep = new SubscriptionUpkeep(this, "SubscriptionUpkeep", {
      sources: kept.map(({ source, secret, endpoint, subscriptions }) => ({
        sourceId: source.id,
        schedule: subscriptions.schedule,
        failedText: subscriptions.failedText,
        credential: secret,
        webhookSecret: endpoint.secret,
      })),
      directory: this.directory,
      ingestQueue: this.ingestQueue,
      maxReceiveCount: settings.maxReceiveCount,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        SYNC_CONFIG: common.SYNC_CONFIG ?? "",
        DIRECTORY_TABLE_NAME: this.directory.table.tableName,
        ...Object.fromEntries(
          kept.flatMap(({ source, secret, endpoint }) => {
            const credential = source.deployment?.secret?.variable;
            return [
              [webhookVariable(source.id, "URL"), endpoint.url],
              [webhookVariable(source.id, "SECRET_ID"), endpoint.secret.secretArn],
              ...(credential && secret ? [[credential, secret.secretArn]] : []),
            ];
          }),
        ),
      },
    });
    for (const { endpoint } of kept) endpoint.useUpkeepQueue(upkeep.queue);
    return upkeep;
  }

  #scim(scim: ScimProps, props: TallyfyIdpSyncProps, endpoints: ReadonlyMap<string, EndpointToQueue>) {
    // The region has one API Gateway logging role: a webhook endpoint that already sets it is
    // enough, as a second AWS::ApiGateway::Account would race the first.
    const roleSetter = [...endpoints.values()].find((e) => e.logging === "create-account-role");
    const endpoint = new ScimEndpoint(this, "Scim", {
      directory: this.directory,
      ingestQueue: this.ingestQueue,
      tokenSecret: scim.tokenSecret,
      throttlingRateLimit: scim.throttlingRateLimit,
      throttlingBurstLimit: scim.throttlingBurstLimit,
      logRetention: props.logRetention,
      logging: roleSetter ? "account-role-exists" : props.apiLogging,
      allowedSourceCidrs: props.endpointAllowedCidrs,
      webAclArn: props.endpointWebAclArn,
      tracing: props.tracing,
    });
    if (roleSetter) endpoint.api.deploymentStage.node.addDependency(roleSetter.api);
    return endpoint;
  }

  /**
   * A bus only your identity producers use: only this account may put events on it, and IAM
   * decides which of its principals (grant `events:PutEvents` on this bus's ARN alone).
   */
  #identityBus(): events.EventBus {
    const bus = new events.EventBus(this, "IdentityEvents", {
      eventBusName: `${uniqueName(this)}-identity-events`,
    });
    new CfnOutput(this, "IdentityEventBusName", {
      value: bus.eventBusName,
      description: "Send your identity events here (EventBridge); grant events:PutEvents on this bus only",
    });
    return bus;
  }

  #alarmTopic(email: string): sns.Topic {
    const topic = new sns.Topic(this, "AlarmTopic", {
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
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
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
    out("ReconcileQueueUrl", this.reconcileQueue.queueUrl, "Reconcile messages waiting for Tallyfy");
    out("ReconcileQueueArn", this.reconcileQueue.queueArn, "The reconcile queue's ARN");
    out("DirectoryTableName", this.directory.table.tableName, "The desired-state directory (DynamoDB)");
    out(
      "ApplyFunctionName",
      this.applyFunction.functionName,
      "Its environment holds the deployed configuration (npx tallyfy-idp-sync plan --stack reads it)",
    );
    out(
      "ReconcileDeadLetterQueueUrl",
      this.reconcileDeadLetterQueue.queueUrl,
      "Reconciles Tallyfy did not accept, with the reason",
    );
    out("ReconcileDeadLetterQueueArn", this.reconcileDeadLetterQueue.queueArn, "For redrive");
    if (this.eventBridgeDeadLetterQueue) {
      out(
        "EventBridgeDeadLetterQueueUrl",
        this.eventBridgeDeadLetterQueue.queueUrl,
        "Events EventBridge could not deliver to the ingest queue",
      );
    }
    out("TallyfySecretArn", this.tallyfySecret.secretArn, "Put the Tallyfy credential here");
    for (const [sourceId, secret] of this.sourceSecrets) {
      out(`${pascal(sourceId)}SecretArn`, secret.secretArn, `Put the ${sourceId} credential here`);
    }
    if (this.fullSync) {
      out(
        "FullSyncReportBucket",
        this.fullSync.reportBucket.bucketName,
        "Each full reconciliation's drift report, under reports/<date>/<run id>.json",
      );
      out(
        "FullSyncStateMachineArn",
        this.fullSync.stateMachine.stateMachineArn,
        "Start a full reconciliation now: aws stepfunctions start-execution --state-machine-arn <this>",
      );
    }
    out(
      "DashboardUrl",
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`,
      "The CloudWatch dashboard",
    );
  }

  /** cdk-nag AwsSolutions findings this design accepts, each with its reason. */
  #acknowledgements(enabled: readonly Enabled[], props: TallyfyIdpSyncProps): void {
    if (this.tallyfySecret instanceof secretsmanager.Secret) {
      Validations.of(this.tallyfySecret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "A Tallyfy personal access token or client secret is issued by Tallyfy and cannot be rotated by a Lambda; rotate it in Tallyfy and update the secret",
      });
    }
    if (props.tracing) {
      const functions = [
        this.ingestFunction,
        this.applyFunction,
        ...(this.fullSync ? [this.fullSync.function] : []),
      ];
      for (const fn of functions) {
        Validations.of(fn.role ?? fn).acknowledge({
          id: "AwsSolutions-IAM5[Resource::*]",
          reason:
            "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource: AWS documents them on *",
        });
      }
    }
    if (this.eventBridgeDeadLetterQueue) {
      Validations.of(this.eventBridgeDeadLetterQueue).acknowledge({
        id: "AwsSolutions-SQS3",
        reason:
          "It is the dead-letter queue of the EventBridge rules' targets (cdk-nag sees only SQS redrive policies); an alarm fires on its first message",
      });
    }
    for (const { source } of enabled) {
      const api = source.deployment?.awsApi;
      for (const resource of api?.wildcardReason ? api.resources.filter((r) => r.includes("*")) : []) {
        // cdk-nag names each wildcard resource, with the partition and account as it prints tokens.
        const shown = resource
          .replaceAll("{partition}", "<AWS::Partition>")
          .replaceAll("{account}", "<AWS::AccountId>");
        Validations.of(this.ingestFunction.role ?? this.ingestFunction).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${shown}]`,
          reason: api?.wildcardReason ?? "",
        });
      }
    }
    for (const { source, secret } of enabled) {
      const rotation = source.deployment?.secret?.rotation;
      if (rotation && secret instanceof secretsmanager.Secret) {
        Validations.of(secret).acknowledge({ id: "AwsSolutions-SMG4", reason: rotation });
      }
    }
  }
}

interface Settings {
  readonly maxReceiveCount: number;
  readonly ingestTimeout: Duration;
  readonly applyTimeout: Duration;
  readonly applyMaxConcurrency: number;
  readonly tallyfyRequestsPerMinute: number;
  readonly ingestMaxConcurrency: number;
  readonly ingestBatchSize: number;
  readonly ingestBatchingWindow: Duration;
  readonly maxMessageAge: Duration;
  /** The enabled sources, in the registry's order. */
  readonly sources: readonly { readonly source: AnyIdentitySource; readonly props: SourceProps }[];
}

/** The props with their defaults, checked against `settings.ts` and the sources' own rules. */
function validate(props: TallyfyIdpSyncProps): Settings {
  const settings = {
    maxReceiveCount: props.maxReceiveCount ?? 5,
    ingestTimeout: props.ingestTimeout ?? Duration.seconds(30),
    applyTimeout: props.applyTimeout ?? Duration.seconds(60),
    applyMaxConcurrency: props.applyMaxConcurrency ?? 2,
    tallyfyRequestsPerMinute: props.tallyfyRequestsPerMinute ?? 600,
    ingestMaxConcurrency: props.ingestMaxConcurrency ?? 5,
    ingestBatchSize: props.ingestBatchSize ?? 10,
    ingestBatchingWindow: props.ingestBatchingWindow ?? Duration.seconds(1),
    maxMessageAge: props.maxMessageAge ?? Duration.minutes(15),
  };
  const wanted: Record<string, SourceProps> = { ...props.sources };
  if (props.okta) {
    wanted.okta = {
      secret: props.okta.secret,
      endpoint: props.okta.eventHook,
      eventBusName: props.okta.logStreamEventBusName,
    };
  }
  const problems: string[] = [];
  const check = (name: string, schema: z.ZodType, value: unknown) => {
    const result = schema.safeParse(value);
    if (!result.success) problems.push(`${name}: ${describeIssues(result.error)}`);
  };
  check("syncConfig", SyncConfigSchema, props.syncConfig);
  check("tallyfyOrganizationId", Setting.tallyfyOrganizationId, props.tallyfyOrganizationId ?? "");
  if (props.tallyfyApiUrl !== undefined) check("tallyfyApiUrl", Setting.tallyfyApiUrl, props.tallyfyApiUrl);
  if (props.alarmEmail !== undefined) check("alarmEmail", Setting.alarmEmail, props.alarmEmail);
  if (props.scim?.throttlingRateLimit !== undefined)
    check("scim.throttlingRateLimit", Setting.throttlingRateLimit, props.scim.throttlingRateLimit);
  if (props.scim?.throttlingBurstLimit !== undefined)
    check("scim.throttlingBurstLimit", Setting.throttlingBurstLimit, props.scim.throttlingBurstLimit);
  if (props.eventBridge?.eventBusName !== undefined)
    check("eventBridge.eventBusName", Setting.eventBusName, props.eventBridge.eventBusName);
  check("maxReceiveCount", Setting.maxReceiveCount, settings.maxReceiveCount);
  check("applyMaxConcurrency", Setting.applyMaxConcurrency, settings.applyMaxConcurrency);
  check("tallyfyRequestsPerMinute", Setting.tallyfyRequestsPerMinute, settings.tallyfyRequestsPerMinute);
  check("ingestMaxConcurrency", Setting.applyMaxConcurrency, settings.ingestMaxConcurrency);
  check("ingestBatchSize", Setting.ingestBatchSize, settings.ingestBatchSize);
  check("ingestTimeout", Setting.timeoutSeconds, settings.ingestTimeout.toSeconds());
  check("applyTimeout", Setting.timeoutSeconds, settings.applyTimeout.toSeconds());
  if (settings.ingestBatchSize > 10 && settings.ingestBatchingWindow.toSeconds() < 1) {
    problems.push("ingestBatchingWindow: must be at least 1 second when ingestBatchSize is over 10");
  }
  const sources: Settings["sources"][number][] = [];
  const parsedConfig = SyncConfigSchema.safeParse(props.syncConfig);
  for (const [id, sourceProps] of Object.entries(wanted)) {
    const source = SOURCES.find((s) => s.id === id);
    if (!source) {
      problems.push(
        `sources.${id}: no identity source "${id}" is registered (${SOURCES.map((s) => s.id).join(", ")})`,
      );
      continue;
    }
    problems.push(...routeProblems(source, sourceProps));
    const grant = awsApiGrant(source, parsedConfig.success ? parsedConfig.data[id] : undefined, {
      partition: "aws",
      account: "000000000000",
    });
    if (grant && "missing" in grant) {
      problems.push(
        `sources.${id}: ${id} reads its provider with the function's role: set ${grant.missing.join(", ")}`,
      );
    }
    sources.push({ source, props: sourceProps });
  }
  if (problems.length > 0) throw new TallyfyIdpSyncPropsError(problems);
  // In the registry's order, so the stack is the same whatever order the props list them in.
  sources.sort((a, b) => SOURCES.indexOf(a.source) - SOURCES.indexOf(b.source));
  return { ...settings, sources };
}
