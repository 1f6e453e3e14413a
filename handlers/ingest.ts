/**
 * Lambda entry point: identity events (canonical, or Okta's) from the ingest queue -> commands on
 * the FIFO commands queue.
 * Environment: SYNC_CONFIG, COMMANDS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, MAX_RECEIVE_COUNT, and for
 * Okta INGEST_QUEUE_URL, OKTA_SECRET_ID, OKTA_TIMEOUT_MS, SECRET_MAX_AGE_SECONDS.
 */
import { ingestDepsFromEnvironment } from "./runtime/environment.js";
import { createIngestHandler } from "./runtime/ingest-handler.js";

export const handler = createIngestHandler(ingestDepsFromEnvironment());
