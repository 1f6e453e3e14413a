/**
 * Lambda entry point: the SCIM 2.0 endpoint (API Gateway, Lambda proxy integration).
 * Environment: DIRECTORY_TABLE_NAME, INGEST_QUEUE_URL, SCIM_TOKEN_SECRET_ID, SECRET_MAX_AGE_SECONDS.
 */

import { scimDepsFromEnvironment } from "./runtime/scim-environment.js";
import { createScimHandler } from "./runtime/scim-handler.js";

export const handler = createScimHandler(scimDepsFromEnvironment());
