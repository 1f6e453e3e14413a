/**
 * The ingress each enabled identity source asks for in its `deployment`: an API-to-queue
 * endpoint, EventBridge rules, a function-backed webhook with its subscription upkeep; plus the
 * optional custom EventBridge route and the SCIM endpoint. Built on the construct's own scope.
 */
import { Annotations, CfnOutput, Duration, aws_events as events, aws_sqs as sqs } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { SyncConfig } from "../handlers/core/config.js";
import { webhookVariable } from "../handlers/core/source.js";
import { EndpointToQueue, pascal } from "./ingress/endpoint-to-queue.js";
import { eventBridgeToQueue } from "./ingress/eventbridge-to-queue.js";
import { uniqueName } from "./ingress/rest-api.js";
import { ScimEndpoint } from "./ingress/scim-endpoint.js";
import { wantedRoutes } from "./ingress/source-routes.js";
import { WebhookEndpoint } from "./ingress/webhook-endpoint.js";
import type { Pipeline } from "./pipeline.js";
import type { Settings, TallyfyIdpSyncProps } from "./props.js";
import { SubscriptionUpkeep } from "./subscriptions.js";

export interface SourceIngress {
  /** Where EventBridge puts what it could not deliver; only when a rule exists. */
  readonly eventBridgeDeadLetterQueue?: sqs.Queue;
  readonly endpoints: ReadonlyMap<string, EndpointToQueue>;
  readonly eventBridgeRules: readonly { readonly id: string; readonly rule: events.Rule }[];
  readonly webhooks: ReadonlyMap<string, WebhookEndpoint>;
  readonly subscriptionUpkeep?: SubscriptionUpkeep;
  readonly scim?: ScimEndpoint;
}

export function buildSourceIngress(
  scope: Construct,
  pipeline: Pipeline,
  options: {
    readonly props: TallyfyIdpSyncProps;
    readonly settings: Settings;
    readonly syncConfig: SyncConfig;
  },
): SourceIngress {
  const { props, settings, syncConfig } = options;
  const { enabled } = pipeline;
  const ingestQueue = pipeline.queues.ingest;
  const wantsEventBridge =
    props.eventBridge !== undefined ||
    enabled.some(({ source, props: p }) => wantedRoutes(source, p).length > 0);
  const eventBridgeDeadLetterQueue = wantsEventBridge
    ? new sqs.Queue(scope, "EventBridgeDeadLetterQueue", {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      })
    : undefined;
  if (props.eventBridge && eventBridgeDeadLetterQueue) {
    const busName = props.eventBridge.eventBusName ?? identityBus(scope).eventBusName;
    if (busName === "default") {
      Annotations.of(scope).addWarningV2(
        "tallyfy-idp-sync:default-bus",
        "eventBridge.eventBusName is the default bus: any principal allowed events:PutEvents on it can send identity events; leave eventBusName out for a bus of its own",
      );
    }
    eventBridgeToQueue(scope, "IdentityEventsRule", {
      busId: "IdentityEventBus",
      eventBusName: busName,
      eventPattern: props.eventBridge.eventPattern,
      queue: ingestQueue,
      deadLetterQueue: eventBridgeDeadLetterQueue,
    });
  }
  const shared = {
    logRetention: props.logRetention,
    logging: props.apiLogging,
    allowedSourceCidrs: props.endpointAllowedCidrs,
    webAclArn: props.endpointWebAclArn,
    tracing: props.tracing,
  };
  const endpoints = new Map<string, EndpointToQueue>();
  const eventBridgeRules: { id: string; rule: events.Rule }[] = [];
  const webhooks = new Map<string, WebhookEndpoint>();
  for (const { source, props: sourceProps } of enabled) {
    const { endpoint, webhook } = source.deployment ?? {};
    const name = pascal(source.id);
    if (endpoint && sourceProps.endpoint) {
      endpoints.set(
        source.id,
        new EndpointToQueue(scope, `${name}${endpoint.name}`, {
          queue: ingestQueue,
          sourceId: source.id,
          endpoint,
          ...shared,
        }),
      );
    }
    for (const { route, bus } of wantedRoutes(source, sourceProps)) {
      if (!eventBridgeDeadLetterQueue) break;
      const { "detail-type": detailType, ...pattern } = route.pattern;
      const id = `${name}${route.name}`;
      const rule = eventBridgeToQueue(scope, `${id}Rule`, {
        busId: `${id}EventBus`,
        eventBusName: bus,
        eventPattern: { ...pattern, detailType } as events.EventPattern,
        queue: ingestQueue,
        deadLetterQueue: eventBridgeDeadLetterQueue,
      });
      eventBridgeRules.push({ id, rule });
    }
    // A function-backed endpoint for a source with a webhook that asked for its endpoint.
    if (webhook && sourceProps.endpoint) {
      const sourceConfig = (syncConfig[source.id] ?? {}) as Record<string, unknown>;
      const environment = Object.fromEntries(
        Object.entries(webhook.variables ?? {}).flatMap(([variable, key]) => {
          const value = sourceConfig[key];
          return typeof value === "string" && value !== "" ? [[variable, value]] : [];
        }),
      );
      webhooks.set(
        source.id,
        new WebhookEndpoint(scope, `${name}${webhook.name}`, {
          sourceId: source.id,
          webhook,
          ingestQueue,
          environment,
          ...shared,
        }),
      );
    }
  }
  const subscriptionUpkeep = upkeep(scope, pipeline, webhooks, props, settings);
  const scim = props.scim?.enabled ? scimEndpoint(scope, pipeline, props) : undefined;
  return { eventBridgeDeadLetterQueue, endpoints, eventBridgeRules, webhooks, subscriptionUpkeep, scim };
}

/** The subscription function, when any enabled webhook keeps subscriptions. */
function upkeep(
  scope: Construct,
  pipeline: Pipeline,
  webhooks: ReadonlyMap<string, WebhookEndpoint>,
  props: TallyfyIdpSyncProps,
  settings: Settings,
): SubscriptionUpkeep | undefined {
  const kept = pipeline.enabled.flatMap(({ source, secret }) => {
    const endpoint = webhooks.get(source.id);
    const subscriptions = source.deployment?.webhook?.subscriptions;
    return endpoint && subscriptions ? [{ source, secret, endpoint, subscriptions }] : [];
  });
  if (kept.length === 0) return undefined;
  const construct = new SubscriptionUpkeep(scope, "SubscriptionUpkeep", {
    sources: kept.map(({ source, secret, endpoint, subscriptions }) => ({
      sourceId: source.id,
      schedule: subscriptions.schedule,
      failedText: subscriptions.failedText,
      credential: secret,
      webhookSecret: endpoint.secret,
    })),
    directory: pipeline.directory,
    ingestQueue: pipeline.queues.ingest,
    maxReceiveCount: settings.maxReceiveCount,
    logRetention: props.logRetention,
    tracing: props.tracing,
    syncConfig: pipeline.config,
    scheduleDeadLetterQueue: pipeline.queues.schedulesDeadLetter,
    environment: {
      DIRECTORY_TABLE_NAME: pipeline.directory.table.tableName,
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
  for (const { endpoint } of kept) endpoint.useUpkeepQueue(construct.queue);
  return construct;
}

function scimEndpoint(scope: Construct, pipeline: Pipeline, props: TallyfyIdpSyncProps): ScimEndpoint {
  const scim = props.scim ?? {};
  const endpoint = new ScimEndpoint(scope, "Scim", {
    directory: pipeline.directory,
    ingestQueue: pipeline.queues.ingest,
    tokenSecret: scim.tokenSecret,
    throttlingRateLimit: scim.throttlingRateLimit,
    throttlingBurstLimit: scim.throttlingBurstLimit,
    logRetention: props.logRetention,
    logging: props.apiLogging,
    allowedSourceCidrs: props.endpointAllowedCidrs,
    webAclArn: props.endpointWebAclArn,
    tracing: props.tracing,
  });
  return endpoint;
}

/**
 * A bus only your identity producers use: only this account may put events on it, and IAM
 * decides which of its principals (grant `events:PutEvents` on this bus's ARN alone).
 */
function identityBus(scope: Construct): events.EventBus {
  const bus = new events.EventBus(scope, "IdentityEvents", {
    eventBusName: `${uniqueName(scope)}-identity-events`,
  });
  new CfnOutput(scope, "IdentityEventBusName", {
    value: bus.eventBusName,
    description: "Send your identity events here (EventBridge); grant events:PutEvents on this bus only",
  });
  return bus;
}
