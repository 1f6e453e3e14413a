/**
 * Lambda entry point: reconcile messages from the FIFO reconcile queue -> the newest desired state
 * from the directory -> Tallyfy.
 * Configuration: sync-config.json in the bundle (SYNC_CONFIG locally).
 * Environment: DIRECTORY_TABLE_NAME, RECONCILE_QUEUE_URL, TALLYFY_SECRET_ID,
 * TALLYFY_ORG_ID, TALLYFY_API_URL, DEAD_LETTER_QUEUE_URL, MAX_RECEIVE_COUNT, TALLYFY_TIMEOUT_MS,
 * SECRET_MAX_AGE_SECONDS.
 */

import { applyDepsFromEnvironment } from "./runtime/apply-environment.js";
import { createApplyHandler } from "./runtime/apply-handler.js";

export const handler = createApplyHandler(applyDepsFromEnvironment());
