/**
 * The construct's props, their defaults and their validation: everything a caller of
 * `TallyfyIdpSync` can set, checked at synth time against `settings.ts` and each source's rules,
 * every problem reported at once.
 */
import {
  Duration,
  type aws_events as events,
  type aws_logs as logs,
  type aws_secretsmanager as secretsmanager,
  type aws_sns as sns,
} from "aws-cdk-lib";
import type * as z from "zod";
import type { SyncConfigInput } from "../handlers/core/config.js";
import { describeIssues } from "../handlers/core/issues.js";
import type { AnyIdentitySource } from "../handlers/core/source.js";
import { SOURCES, SyncConfigSchema } from "../handlers/sources/index.js";
import type { EndpointLogging } from "./ingress/rest-api.js";
import { awsApiGrant, routeProblems } from "./ingress/source-routes.js";
import { Setting } from "./settings.js";

/** Chat channels the alarms reach through AWS Chatbot. */
export interface NotificationsProps {
  /**
   * A Slack channel: the workspace id (`T...`) and channel id (`C...`).
   * @default - none
   */
  readonly slack?: { readonly workspaceId: string; readonly channelId: string };
  /**
   * A Microsoft Teams channel: the team and tenant ids (GUIDs) and the channel id, URL-encoded
   * as the channel's link spells it (`19%3a...%40thread.tacv2`).
   * @default - none
   */
  readonly teams?: { readonly teamId: string; readonly channelId: string; readonly tenantId: string };
}

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
   * apply and departures functions share it (less the full reconciliation's share) exactly: every
   * container books each request's slot on one schedule in the directory, and slows down further
   * on a 429 or a low `X-RateLimit-Remaining`.
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
   * @default - a new topic (its ARN is the `AlarmTopicArn` output), `alarmEmail` subscribed to it
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * An email address subscribed to a new alarm topic (ignored when `alarmTopic` is given).
   * @default - no subscription, and synth warns that the alarms reach nobody
   */
  readonly alarmEmail?: string;

  /**
   * Slack or Microsoft Teams channels the alarms reach, through AWS Chatbot (its workspace or
   * team must first be authorized in the AWS Chatbot console). The channel's role can read nothing.
   * @default - no chat channel
   */
  readonly notifications?: NotificationsProps;

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

/** The props with every default filled in, and the enabled sources in the registry's order. */
export interface Settings {
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
export function validate(props: TallyfyIdpSyncProps): Settings {
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
  if (props.notifications !== undefined) check("notifications", Setting.notifications, props.notifications);
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
    const webhookVariables = sourceProps.endpoint ? (source.deployment?.webhook?.variables ?? {}) : {};
    const sourceConfig = (parsedConfig.success ? parsedConfig.data[id] : undefined) as
      | Record<string, unknown>
      | undefined;
    for (const key of Object.values(webhookVariables)) {
      const value = sourceConfig?.[key];
      if (typeof value !== "string" || value.trim() === "") {
        problems.push(`sources.${id}: its endpoint needs syncConfig.${id}.${key}`);
      }
    }
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
