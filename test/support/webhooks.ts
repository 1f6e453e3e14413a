/** A pipeline with one push source's webhook function in front of it, as the Entra and Google tests run it. */
import { afterEach } from "vitest";
import type { AnyIdentitySource } from "../../handlers/core/source.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { startWebhookHarness } from "../../local/webhooks.js";

export interface WebhookSourceOptions {
  readonly source: AnyIdentitySource;
  /** The secret the provider sends (Graph's `clientState`, Google's channel token). */
  readonly secret: string;
  /** The endpoint's path, e.g. `entra/notifications`. */
  readonly path: string;
  /** The functions' environment: the source's secret id. */
  readonly environment: Readonly<Record<string, string>>;
  readonly config: Record<string, unknown>;
}

/**
 * Registers the hook that stops what the function returned starts, after each test. It starts a
 * pipeline whose Tallyfy has an Engineering group, and the webhook function on loopback.
 */
export function useWebhookSource() {
  let running: { p: TestPipeline; h: Awaited<ReturnType<typeof startWebhookHarness>> } | undefined;
  afterEach(async () => {
    await running?.h.stop();
    await running?.p.stop();
    running = undefined;
  });
  return async ({ source, secret, path, environment, config }: WebhookSourceOptions) => {
    const p = await startPipeline({ config, environment });
    p.tallyfy.addGroup({ name: "Engineering" });
    const h = await startWebhookHarness(p, { source, secrets: [secret], environment, config, path });
    running = { p, h };
    return running;
  };
}
