/**
 * The sources that keep subscriptions with their provider, as the upkeep function needs them: so
 * it bundles their code and the configuration schemas, not every source's (its import time was 1.8
 * times the SDK-only baseline with the whole registry).
 * `test/the-webhook-function-receives-for-every-source-with-a-webhook.test.ts` keeps it in step
 * with `index.ts`.
 */
import type { AnyIdentitySource } from "../core/source.js";
import { entraSource } from "./entra/index.js";
import { googleSource } from "./google/index.js";

export const SUBSCRIBING_SOURCES: readonly AnyIdentitySource[] = [entraSource, googleSource];
