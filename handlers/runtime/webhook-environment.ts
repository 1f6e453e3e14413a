/**
 * The webhook function's dependencies from its environment: which source it receives for, the ingest and upkeep queues, and the secret the provider echoes (its id, never its value).
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { WEBHOOK_RECEIVERS } from "../sources/webhooks.js";
import { parseEnvironment, sqsClient } from "./function-environment.js";
import { secretTokens } from "./token-secret.js";
import type { WebhookHandlerDeps } from "./webhook-handler.js";

const WebhookEnvironmentSchema = z.object({
  /** The registry id of the source this function receives for. */
  WEBHOOK_SOURCE: z.string().min(1),
  /** The secret the provider echoes (its id, never its value). */
  WEBHOOK_SECRET_ID: z.string().min(1),
  INGEST_QUEUE_URL: z.url(),
  UPKEEP_QUEUE_URL: z.url().optional(),
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
});

export function webhookDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): WebhookHandlerDeps {
  const vars = parseEnvironment(WebhookEnvironmentSchema, env);
  const source = WEBHOOK_RECEIVERS.find((s) => s.id === vars.WEBHOOK_SOURCE);
  if (!source) throw new Error(`WEBHOOK_SOURCE ${vars.WEBHOOK_SOURCE} is no source with a webhook`);
  return {
    source,
    secrets: secretTokens(new SecretsProvider(), vars.WEBHOOK_SECRET_ID, vars.SECRET_MAX_AGE_SECONDS),
    sqs: sqsClient(),
    ingestQueueUrl: vars.INGEST_QUEUE_URL,
    upkeepQueueUrl: vars.UPKEEP_QUEUE_URL,
  };
}
