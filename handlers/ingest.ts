/**
 * Lambda entry point: identity events (canonical, or a source's own) from the ingest queue ->
 * merged into the directory -> reconcile messages on the FIFO reconcile queue.
 * Configuration: sync-config.json in the bundle (SYNC_CONFIG locally).
 * Environment: DIRECTORY_TABLE_NAME, RECONCILE_QUEUE_URL, DEAD_LETTER_QUEUE_URL,
 * MAX_RECEIVE_COUNT, INGEST_QUEUE_URL, and each source's own (Okta: OKTA_SECRET_ID, OKTA_TIMEOUT_MS,
 * SECRET_MAX_AGE_SECONDS).
 */
import { ingestDepsFromEnvironment } from "./runtime/ingest-environment.js";
import { createIngestHandler } from "./runtime/ingest-handler.js";

export const handler = createIngestHandler(ingestDepsFromEnvironment());
