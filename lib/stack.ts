import {
  Annotations,
  Duration,
  Stack,
  type StackProps,
  aws_secretsmanager as secretsmanager,
} from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { AppConfig } from "./app-config.js";
import { pascal } from "./ingress/endpoint-to-queue.js";
import { TallyfyIdpSync } from "./tallyfy-idp-sync.js";

export interface TallyfyIdpSyncStackProps extends StackProps {
  /** The validated `tallyfyIdpSync` context. */
  readonly config: AppConfig;
}

/** The deployable stack: one {@link TallyfyIdpSync} configured from cdk.json context. */
export class TallyfyIdpSyncStack extends Stack {
  public readonly sync: TallyfyIdpSync;

  public constructor(scope: Construct, id: string, props: TallyfyIdpSyncStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { tallyfy } = config;
    const secretRef = (id: string, ref?: { secretArn?: string; secretName?: string }) =>
      ref?.secretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(this, id, ref.secretArn)
        : ref?.secretName
          ? secretsmanager.Secret.fromSecretNameV2(this, id, ref.secretName)
          : undefined;
    const tallyfySecret = secretRef("TallyfySecretRef", tallyfy);
    const seconds = (value: number | undefined) =>
      value === undefined ? undefined : Duration.seconds(value);
    this.sync = new TallyfyIdpSync(this, "Sync", {
      syncConfig: config.sync,
      tallyfyOrganizationId: tallyfy.organizationId,
      tallyfyApiUrl: tallyfy.apiUrl,
      tallyfySecret,
      maxReceiveCount: config.maxReceiveCount,
      applyMaxConcurrency: config.applyMaxConcurrency,
      ingestMaxConcurrency: config.ingestMaxConcurrency,
      tallyfyRequestsPerMinute: config.tallyfyRequestsPerMinute,
      applyTimeout: seconds(config.applyTimeoutSeconds),
      ingestTimeout: seconds(config.ingestTimeoutSeconds),
      alarmEmail: config.alarmEmail,
      notifications: config.notifications,
      apiLogging: config.apiLogging,
      endpointAllowedCidrs: config.endpointAllowedCidrs,
      endpointWebAclArn: config.endpointWebAclArn,
      tracing: config.tracing,
      maxMessageAge:
        config.maxMessageAgeMinutes === undefined ? undefined : Duration.minutes(config.maxMessageAgeMinutes),
      eventBridge: config.eventBridge,
      okta: config.okta && {
        secret: secretRef("OktaSecretRef", config.okta),
        eventHook: config.okta.eventHook,
        logStreamEventBusName: config.okta.logStreamEventBusName,
      },
      scim: config.scim,
      fullSync: config.fullSync,
      sources:
        config.sources &&
        Object.fromEntries(
          Object.entries(config.sources).map(([id, source]) => [
            id,
            {
              secret: secretRef(`${pascal(id)}SecretRef`, source),
              endpoint: source.endpoint,
              eventBusName: source.eventBusName,
              eventBusNames: source.eventBusNames,
            },
          ]),
        ),
    });
    if (/^(your-|example|change)/i.test(tallyfy.organizationId)) {
      Annotations.of(this).addWarningV2(
        "tallyfy-idp-sync:placeholder-org",
        `tallyfy.organizationId is "${tallyfy.organizationId}": set your Tallyfy organization id in cdk.json before deploying`,
      );
    }
  }
}
