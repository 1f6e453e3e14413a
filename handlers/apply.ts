/**
 * Lambda entry point: commands from the FIFO commands queue -> Tallyfy.
 * Environment: SYNC_CONFIG, TALLYFY_SECRET_ID, TALLYFY_ORG_ID, TALLYFY_API_URL, COMMANDS_QUEUE_URL,
 * DEAD_LETTER_QUEUE_URL, MAX_RECEIVE_COUNT, TALLYFY_TIMEOUT_MS, SECRET_MAX_AGE_SECONDS.
 */

import { createApplyHandler } from "./runtime/apply-handler.js";
import { applyDepsFromEnvironment } from "./runtime/environment.js";

export const handler = createApplyHandler(applyDepsFromEnvironment());
