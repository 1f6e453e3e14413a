/**
 * The one context key, `tallyfyIdpSync`, that configures the deployable stack: the sync
 * configuration plus deployment settings. Validated at synth time; errors name the bad key.
 */
import * as z from "zod";
import { describeIssues } from "../handlers/core/issues.js";
import { SyncConfigSchema } from "../handlers/sources/index.js";
import { Setting } from "./settings.js";

export const CONTEXT_KEY = "tallyfyIdpSync";

export const AppConfigSchema = z.strictObject({
  /** @default "TallyfyIdpSync" */
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, "must be a CloudFormation stack name")
    .default("TallyfyIdpSync"),
  tallyfy: z.strictObject({
    organizationId: Setting.tallyfyOrganizationId,
    apiUrl: Setting.tallyfyApiUrl.optional(),
    /** An existing secret, by full ARN. */
    secretArn: Setting.secretArn.optional(),
    /** An existing secret, by name. */
    secretName: z.string().min(1).optional(),
  }),
  sync: SyncConfigSchema,
  maxReceiveCount: Setting.maxReceiveCount.optional(),
  applyMaxConcurrency: Setting.applyMaxConcurrency.optional(),
  ingestMaxConcurrency: Setting.applyMaxConcurrency.optional(),
  tallyfyRequestsPerMinute: Setting.tallyfyRequestsPerMinute.optional(),
  applyTimeoutSeconds: Setting.timeoutSeconds.optional(),
  ingestTimeoutSeconds: Setting.timeoutSeconds.optional(),
  alarmEmail: Setting.alarmEmail.optional(),
  /** Slack or Microsoft Teams channels the alarms reach, through AWS Chatbot. */
  notifications: Setting.notifications.optional(),
  /** CloudWatch logging of the webhook endpoints (README "Deploy"). */
  apiLogging: z.enum(["off", "account-role-exists", "create-account-role"]).optional(),
  /** X-Ray active tracing of both functions. */
  tracing: z.boolean().optional(),
  /** Address ranges allowed to call the webhook endpoints. */
  endpointAllowedCidrs: z.array(z.cidrv4("must be an IPv4 range such as 203.0.113.0/24")).min(1).optional(),
  /** A regional WAF web ACL for the webhook endpoints. */
  endpointWebAclArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:wafv2:/, "must be a WAF web ACL ARN")
    .optional(),
  maxMessageAgeMinutes: Setting.maxMessageAgeMinutes.optional(),
  eventBridge: z
    .strictObject({
      /** Leave out for a bus of its own; avoid `default`. */
      eventBusName: Setting.eventBusName.optional(),
      eventPattern: z.record(z.string(), z.unknown()),
    })
    .optional(),
  /** Okta as an event source (README "Okta"). */
  okta: z
    .strictObject({
      secretArn: Setting.secretArn.optional(),
      secretName: z.string().min(1).optional(),
      /** An HTTPS endpoint for Okta Event Hooks. */
      eventHook: z.boolean().default(false),
      /** The Okta Log Streaming partner bus, aws.partner/okta.com/<org>/<name>. */
      logStreamEventBusName: z
        .string()
        .startsWith(
          "aws.partner/okta.com/",
          "must be the Okta partner bus, aws.partner/okta.com/<org>/<name>",
        )
        .optional(),
    })
    .optional(),
  /**
   * Identity sources by registry id (README "Auth0", "AWS IAM Identity Center"): the credential,
   * and the bus of each EventBridge rule by rule name.
   */
  sources: z
    .record(
      z.string(),
      z.strictObject({
        secretArn: Setting.secretArn.optional(),
        secretName: z.string().min(1).optional(),
        endpoint: z.boolean().optional(),
        eventBusName: Setting.eventBusName.optional(),
        eventBusNames: z.record(z.string(), Setting.eventBusName).optional(),
      }),
    )
    .optional(),
  /** The scheduled full reconciliation (README "Operations"). */
  fullSync: z
    .strictObject({
      enabled: z.boolean().default(true),
      schedule: Setting.schedule.optional(),
      maxDepartureShare: Setting.share.optional(),
      budgetShare: Setting.share.optional(),
      driftAlarmThreshold: z.number().int().min(1).optional(),
      reportRetentionDays: z.number().int().min(1).optional(),
    })
    .optional(),
  /** A SCIM 2.0 endpoint for Entra ID or Okta provisioning; its token is generated at deployment. */
  scim: z
    .strictObject({
      enabled: z.boolean().default(false),
      throttlingRateLimit: Setting.throttlingRateLimit.optional(),
      throttlingBurstLimit: Setting.throttlingBurstLimit.optional(),
    })
    .optional(),
});

export type AppConfig = z.output<typeof AppConfigSchema>;

/** Context that fails validation; the message names every bad key under `tallyfyIdpSync`. */
export class AppConfigError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "AppConfigError";
  }
}

export function parseAppConfig(context: unknown): AppConfig {
  if (context === undefined) throw new AppConfigError(`cdk.json context has no "${CONTEXT_KEY}" key`);
  const parsed = AppConfigSchema.safeParse(typeof context === "string" ? JSON.parse(context) : context);
  if (!parsed.success) {
    const lines = describeIssues(parsed.error)
      .split("; ")
      .map((line) => `${CONTEXT_KEY}.${line}`);
    throw new AppConfigError(`invalid cdk.json context:\n  - ${lines.join("\n  - ")}`);
  }
  for (const [key, secret] of [
    ["tallyfy", parsed.data.tallyfy],
    ["okta", parsed.data.okta],
    ...Object.entries(parsed.data.sources ?? {}).map(([id, source]) => [`sources.${id}`, source] as const),
  ] as const) {
    if (secret?.secretArn && secret.secretName) {
      throw new AppConfigError(
        `invalid cdk.json context:\n  - ${CONTEXT_KEY}.${key}: give secretArn or secretName, not both`,
      );
    }
  }
  return parsed.data;
}
