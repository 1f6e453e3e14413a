/** What the stack builds for Auth0 (README "Auth0"): plain data, read by lib/ at synth. */
import type { SourceDeployment } from "../../core/source.js";
import { AUTH0_EVENT_TYPES, AUTH0_LOG_TYPES, AUTH0_SOURCE_PREFIX } from "./events.js";

export const auth0Deployment: SourceDeployment = {
  secret: {
    variable: "AUTH0_SECRET_ID",
    description:
      'Auth0 Management API credential for tallyfy-idp-sync: {"domain", "clientId", "clientSecret", "audience"?} of a machine-to-machine application with read:users and read:roles',
    rotation:
      "An Auth0 application's client secret is rotated in the Auth0 Dashboard (or its Management API), not by a Lambda; rotate it there and update the secret",
  },
  // The lowest Management API limit Auth0 publishes for a tenant (2 requests a second): each ingest
  // function paces at its share, and slows to what X-RateLimit-Remaining says is left.
  rateBudget: { variable: "AUTH0_REQUESTS_PER_MINUTE", perMinute: 120 },
  eventBridge: [
    // Log Streams: the codes the adapter acts on; a stream's own category filters may narrow it further.
    {
      name: "LogStream",
      busPrefix: AUTH0_SOURCE_PREFIX,
      pattern: {
        source: [{ prefix: AUTH0_SOURCE_PREFIX }],
        detail: { data: { type: [...AUTH0_LOG_TYPES] } },
      },
    },
    // Event Streams: the CloudEvent is the detail; its type decides (the detail-type is not documented).
    {
      name: "EventStream",
      busPrefix: AUTH0_SOURCE_PREFIX,
      pattern: {
        source: [{ prefix: AUTH0_SOURCE_PREFIX }],
        detail: { type: [...AUTH0_EVENT_TYPES] },
      },
    },
  ],
};
