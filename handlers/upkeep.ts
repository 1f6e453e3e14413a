/**
 * Lambda entry point: keeps the webhook sources' subscriptions to their providers (Graph
 * subscriptions, Google channels), from the upkeep queue (the schedule and lifecycle messages).
 * Configuration: sync-config.json in the bundle (SYNC_CONFIG locally).
 * Environment: DIRECTORY_TABLE_NAME, INGEST_QUEUE_URL, <SOURCE>_WEBHOOK_URL,
 * <SOURCE>_WEBHOOK_SECRET_ID, and each source's own credential variables.
 */

import { upkeepDepsFromEnvironment } from "./runtime/upkeep-environment.js";
import { createUpkeepHandler } from "./runtime/upkeep-handler.js";

export const handler = createUpkeepHandler(upkeepDepsFromEnvironment());
