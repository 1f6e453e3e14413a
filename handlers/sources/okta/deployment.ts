/** What the stack builds for Okta (README "Okta"): plain data, read by lib/ at synth. */
import type { SourceDeployment } from "../../core/source.js";
import { OKTA_EVENT_TYPES } from "./adapter.js";

export const oktaDeployment: SourceDeployment = {
  secret: {
    variable: "OKTA_SECRET_ID",
    description:
      'Okta API credential for tallyfy-idp-sync: {"orgUrl", "apiToken"} or {"orgUrl", "clientId", "privateKey"}',
    rotation:
      "An Okta API token or service app key is issued in the Okta Admin Console and cannot be rotated by a Lambda; rotate it in Okta and update the secret",
  },
  // Okta's default for the users API: each ingest function paces at its share, and slows to what
  // X-Rate-Limit-Remaining says is left.
  rateBudget: { variable: "OKTA_REQUESTS_PER_MINUTE", perMinute: 600 },
  // A listed user's app assignment and groups are read one by one.
  listingPage: { variable: "OKTA_LIST_PAGE_SIZE", requestsPerUser: 2, maxSize: 200 },
  // Okta Event Hooks: a one-time GET verification, then POSTs of System Log events.
  endpoint: {
    name: "EventHook",
    path: "hook",
    stageName: "okta",
    description: "Okta Event Hooks -> tallyfy-idp-sync ingest queue",
    verification: {
      header: "X-Okta-Verification-Challenge",
      responseTemplate:
        '{"verification": "$util.escapeJavaScript($input.params(\'X-Okta-Verification-Challenge\'))"}',
    },
    bodySchema: {
      type: "object",
      required: ["eventType", "data"],
      properties: {
        eventType: { type: "string", enum: ["com.okta.event_hook"] },
        data: {
          type: "object",
          required: ["events"],
          properties: { events: { type: "array", maxItems: 100, items: { type: "object" } } },
        },
      },
    },
    alarmText: {
      rejected:
        "The Okta event hook endpoint refused most of an hour's requests, five at least (403: the x-api-key Okta sends is wrong; 400: a body too large or not an event hook body). Okta does not retry these: fix, then look for the lost events in Okta's System Log (event_hook.delivery)",
      errors:
        "The Okta event hook endpoint could not queue requests (5xx). Okta retries once; look for lost events in Okta's System Log (event_hook.delivery)",
    },
  },
  // Okta Log Streaming: the event types the adapter acts on, successful only.
  eventBridge: {
    name: "LogStream",
    busPrefix: "aws.partner/okta.com/",
    pattern: {
      source: [{ prefix: "aws.partner/okta.com/" }],
      "detail-type": ["SystemLog"],
      detail: { eventType: [...OKTA_EVENT_TYPES], outcome: { result: ["SUCCESS"] } },
    },
  },
};
