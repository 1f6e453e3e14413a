/**
 * The sources with a webhook, as the webhook function needs them: each one's id and request check,
 * and nothing else of its code, so the function bundles two small modules instead of every source
 * (its import time was 1.9 times the SDK-only baseline with the whole registry).
 * `test/sources/webhook-receivers-match-the-registry.test.ts` keeps it in step with `index.ts`.
 */
import type { WebhookReceiver } from "../core/source.js";
import { receiveEntra } from "./entra/events.js";
import { receiveGoogle } from "./google/events.js";

export const WEBHOOK_RECEIVERS: readonly WebhookReceiver[] = [
  { id: "entra", receive: receiveEntra },
  { id: "google", receive: receiveGoogle },
];
