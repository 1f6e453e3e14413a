/**
 * Every rule a setting must meet, in one place: the construct checks its props with these, and
 * the cdk.json context (`app-config.ts`) is built from the same fields, so a limit is never
 * written twice.
 */
import * as z from "zod";

/** The queue's visibility timeout is this many times its consumer's timeout (AWS guidance). */
export const VISIBILITY_FACTOR = 6;

export const Setting = {
  tallyfyOrganizationId: z.string().trim().min(1, "must not be empty"),
  // A user or password in the URL would land in the function's environment, in plain text.
  tallyfyApiUrl: z
    .url({ protocol: /^https$/, error: "must be an https URL" })
    // Parsed as fetch will parse it: `https:u:p@host` and `https:\\u:p@host` carry credentials too.
    .refine((url) => {
      const parsed = URL.canParse(url) ? new URL(url) : undefined;
      return parsed !== undefined && parsed.username === "" && parsed.password === "" && !url.includes("@");
    }, "must not contain a user name or password"),
  maxReceiveCount: z.number().int().min(2).max(1000),
  /** Also the ingest mapping's: Lambda's maximum concurrency of an SQS event source. */
  applyMaxConcurrency: z
    .number()
    .int()
    .min(2, "must be a whole number from 2 to 1000 (a Lambda limit)")
    .max(1000, "must be a whole number from 2 to 1000 (a Lambda limit)"),
  ingestBatchSize: z.number().int().min(1).max(10_000),
  /** Tallyfy's budget per token, shared exactly by both reconcile lanes' functions through one schedule. */
  tallyfyRequestsPerMinute: z
    .number()
    .int("must be a whole number of requests a minute, from 10 to 100,000")
    .min(10, "must be a whole number of requests a minute, from 10 to 100,000")
    .max(100_000, "must be a whole number of requests a minute, from 10 to 100,000"),
  // The queue's visibility timeout (six times this) may not exceed SQS's 12 hours, nor Lambda's 15 minutes.
  timeoutSeconds: z
    .number()
    .int()
    .min(5, "must be from 5 seconds to 15 minutes")
    .max(900, "must be from 5 seconds to 15 minutes"),
  maxMessageAgeMinutes: z.number().int().min(1),
  alarmEmail: z.email("must be an email address"),
  /** AWS Chatbot's channels the alarms reach (docs/deploy.md "Alarms in Slack or Microsoft Teams"). */
  notifications: z.strictObject({
    slack: z
      .strictObject({
        workspaceId: z
          .string()
          .regex(/^[0-9A-Z]{1,255}$/, "must be a Slack workspace id, such as T07EA123LEP"),
        channelId: z
          .string()
          .regex(/^[A-Za-z0-9]{1,255}$/, "must be a Slack channel id, such as C07EZ1ABC23"),
      })
      .optional(),
    teams: z
      .strictObject({
        teamId: z.guid("must be the Microsoft Teams team id (a GUID) AWS Chatbot's console shows"),
        // As AWS Chatbot takes it: URL-encoded, as it appears in the channel's link.
        channelId: z
          .string()
          .max(255)
          .regex(
            /^[a-zA-Z0-9-_=+/.,]*%3[aA][a-zA-Z0-9-_=+/.,]*%40[a-zA-Z0-9-_=+/.,]*$/,
            "must be the channel id as the channel's link spells it, URL-encoded: 19%3a...%40thread.tacv2",
          ),
        tenantId: z.guid("must be the Microsoft Entra tenant id (a GUID)"),
      })
      .optional(),
  }),
  eventBusName: z.string().trim().min(1, "must not be empty"),
  secretArn: z.string().regex(/^arn:aws[a-z-]*:secretsmanager:/, "must be a Secrets Manager secret ARN"),
  // A stage cannot exceed the region's account-level quota (10,000 requests a second, bursts of
  // 5,000, by default), and a limit of 0 would refuse every request.
  throttlingRateLimit: z
    .number()
    .positive("must be over 0 and at most 10000 requests a second (API Gateway's regional quota)")
    .max(10_000, "must be over 0 and at most 10000 requests a second (API Gateway's regional quota)"),
  /** An EventBridge Scheduler expression. */
  schedule: z
    .string()
    .regex(
      /^(rate|cron|at)\(.+\)$/,
      "must be an EventBridge Scheduler expression: rate(...), cron(...) or at(...)",
    ),
  /** A share of the people a source manages, or of a budget. */
  share: z.number().gt(0, "must be over 0 and at most 1").max(1, "must be over 0 and at most 1"),
  throttlingBurstLimit: z
    .number()
    .int("must be a whole number from 1 to 5000 (API Gateway's regional quota)")
    .min(1, "must be a whole number from 1 to 5000 (API Gateway's regional quota)")
    .max(5_000, "must be a whole number from 1 to 5000 (API Gateway's regional quota)"),
} as const;
