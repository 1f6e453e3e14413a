/**
 * Lambda entry point: one identity source's webhook (API Gateway, Lambda proxy integration).
 * Environment: WEBHOOK_SOURCE, WEBHOOK_SECRET_ID, INGEST_QUEUE_URL, UPKEEP_QUEUE_URL, SECRET_MAX_AGE_SECONDS.
 */

import { webhookDepsFromEnvironment } from "./runtime/webhook-environment.js";
import { createWebhookHandler } from "./runtime/webhook-handler.js";

export const handler = createWebhookHandler(webhookDepsFromEnvironment());
