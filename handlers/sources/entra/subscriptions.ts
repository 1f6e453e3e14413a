/**
 * The Graph subscriptions the Entra source keeps: one on `/users`, one on `/groups`, each created
 * when missing (Graph first validates the URL), renewed well before it expires, re-created when
 * Graph removed it, and their ids and expiry kept in the directory. A subscription that was gone
 * lost its notifications meanwhile: every user in scope is then read again.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import type { MaintainContext, MaintainReport } from "../../core/source.js";
import type { GraphClient } from "./client.js";
import type { EntraConfig } from "./config.js";
import { ENTRA_KIND, parseQueuedNotification, type QueuedNotification } from "./events.js";

export const RESOURCES = ["/users", "/groups"] as const;
/** How long each subscription is asked for: well inside Graph's limit for directory resources (29 days). */
export const LIFETIME_MS = 7 * 24 * 3600_000;
/** Renewed once less than this is left, so an hourly run has days of retries before it lapses. */
export const RENEW_BEFORE_MS = 4 * 24 * 3600_000;

const SavedSchema = z.object({
  id: z.string().min(1),
  expiration: z.string(),
  /** The SHA-256 of the clientState it was made with (never the secret itself). */
  secret: z.string().optional(),
});
const digest = (value: string) => createHash("sha256").update(value).digest("hex");
const stateKey = (resource: string) => `subscription:${resource}`;

export async function maintainGraphSubscriptions(
  context: MaintainContext<EntraConfig, GraphClient>,
): Promise<MaintainReport> {
  const { state, now, deadline } = context;
  const client = context.connection();
  const report = {
    created: [] as string[],
    renewed: [] as string[],
    stopped: [] as string[],
    failed: [] as string[],
  };
  const triggers = context.triggers.flatMap((t) => {
    try {
      return [parseQueuedNotification(t)];
    } catch {
      return [];
    }
  });
  const expiration = new Date(now + LIFETIME_MS).toISOString();
  let lost = false;
  const secret = digest(context.webhookSecret);
  for (const resource of RESOURCES) {
    const saved = SavedSchema.safeParse(await state.get(stateKey(resource)));
    const mine = (t: QueuedNotification) => saved.success && t.subscriptionId === saved.data.id;
    const removed = triggers.some((t) => mine(t) && t.lifecycleEvent === "subscriptionRemoved");
    const reauthorize = triggers.some((t) => mine(t) && t.lifecycleEvent === "reauthorizationRequired");
    // Made with a secret since rotated: Graph keeps the clientState it was given, so it is replaced.
    const rotated = saved.success && saved.data.secret !== undefined && saved.data.secret !== secret;
    try {
      let gone = removed;
      if (saved.success && !removed && !rotated) {
        const current = await client.getSubscription(saved.data.id, { deadline });
        if (current) {
          const left = Date.parse(current.expirationDateTime) - now;
          if (!reauthorize && left > RENEW_BEFORE_MS) continue;
          const renewed = await client.renewSubscription(saved.data.id, expiration, { deadline });
          if (renewed) {
            await state.put(stateKey(resource), {
              id: renewed.id,
              expiration: renewed.expirationDateTime,
              secret,
            });
            report.renewed.push(`${resource} ${renewed.id} until ${renewed.expirationDateTime}`);
            continue;
          }
        }
        gone = true;
      }
      const created = await client.createSubscription(
        {
          resource,
          notificationUrl: context.notificationUrl,
          clientState: context.webhookSecret,
          expirationDateTime: expiration,
        },
        { deadline },
      );
      await state.put(stateKey(resource), { id: created.id, expiration: created.expirationDateTime, secret });
      report.created.push(`${resource} ${created.id} until ${created.expirationDateTime}`);
      if (saved.success) {
        // Removed or missing: notifications were lost meanwhile. Replaced: the old one stops only now.
        if (gone) lost = true;
        await client.deleteSubscription(saved.data.id, { deadline });
        report.stopped.push(`${resource} ${saved.data.id}`);
      }
    } catch (error) {
      report.failed.push(`${resource}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (lost) {
    const body: QueuedNotification = {
      kind: ENTRA_KIND,
      receivedAt: new Date(now).toISOString(),
      subscriptionId: "re-created",
      ...(context.sourceConfig.tenantId ? { tenantId: context.sourceConfig.tenantId } : {}),
      lifecycleEvent: "missed",
    };
    await context.ingest([JSON.stringify(body)]);
  }
  return report;
}
