/**
 * Lambda entry point: one step of a full reconciliation (handlers/full-sync/full-sync.ts), invoked
 * by the stack's state machine on the `fullSync.schedule`.
 * Configuration: sync-config.json in the bundle (SYNC_CONFIG locally).
 * Environment: DIRECTORY_TABLE_NAME, RECONCILE_QUEUE_URL, REPORT_BUCKET_NAME,
 * TALLYFY_SECRET_ID, TALLYFY_ORG_ID, TALLYFY_API_URL, TALLYFY_REQUESTS_PER_MINUTE,
 * FULL_SYNC_MAX_DEPARTURE_SHARE, and each listing source's own (OKTA_SECRET_ID, ...).
 */

import { fullSyncFromEnvironment } from "./runtime/full-sync-environment.js";
import { createFullSyncHandler } from "./runtime/full-sync-handler.js";

export const handler = createFullSyncHandler(fullSyncFromEnvironment());
