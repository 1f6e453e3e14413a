/**
 * Lambda entry point: identity events from the ingest queue -> commands on the FIFO commands queue.
 * Environment: SYNC_CONFIG, COMMANDS_QUEUE_URL, DEAD_LETTER_QUEUE_URL, MAX_RECEIVE_COUNT.
 */
import { ingestDepsFromEnvironment } from "./sync/environment.js";
import { createIngestHandler } from "./sync/pipeline.js";

export const handler = createIngestHandler(ingestDepsFromEnvironment());
