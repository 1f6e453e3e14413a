/**
 * The `users.watch` channels the Google source keeps: one per event type (Google watches one type
 * a channel), each re-created before it expires and the old one stopped once the new one is open,
 * so no change falls between them. Their ids and expiry are kept in the directory. A channel that
 * lapsed lost its notifications meanwhile: every user is then read again.
 */
import { createHash, randomUUID } from "node:crypto";
import * as z from "zod";
import type { MaintainContext, MaintainReport } from "../../core/source.js";
import type { GoogleClient } from "./client.js";
import type { GoogleConfig } from "./config.js";
import { GOOGLE_KIND, type QueuedPush, WATCH_EVENTS } from "./events.js";

/** Google's longest channel life for the Directory API is six hours. */
export const TTL_SECONDS = 6 * 3600;
/** Re-created once less than this is left: a run every 30 minutes has four tries. */
export const RENEW_BEFORE_MS = 2 * 3600_000;

const SavedSchema = z.object({
  id: z.string().min(1),
  resourceId: z.string().min(1),
  expiration: z.number(),
  /** The SHA-256 of the token it was opened with (never the secret itself). */
  secret: z.string().optional(),
});
const digest = (value: string) => createHash("sha256").update(value).digest("hex");
const stateKey = (event: string) => `channel:${event}`;

export async function maintainGoogleChannels(
  context: MaintainContext<GoogleConfig, GoogleClient>,
): Promise<MaintainReport> {
  const { state, now, deadline, sourceConfig } = context;
  const client = context.connection();
  const report = {
    created: [] as string[],
    renewed: [] as string[],
    stopped: [] as string[],
    failed: [] as string[],
  };
  let lapsed = false;
  const secret = digest(context.webhookSecret);
  for (const event of WATCH_EVENTS) {
    const saved = SavedSchema.safeParse(await state.get(stateKey(event)));
    // Opened with a secret since rotated: Google echoes the token it was given, so it is replaced.
    const rotated = saved.success && saved.data.secret !== undefined && saved.data.secret !== secret;
    if (saved.success && !rotated && saved.data.expiration - now > RENEW_BEFORE_MS) continue;
    try {
      const channel = await client.watch(
        {
          customer: sourceConfig.customer,
          event,
          id: `tallyfy-${event}-${randomUUID()}`,
          address: context.notificationUrl,
          token: context.webhookSecret,
          ttlSeconds: TTL_SECONDS,
        },
        { deadline },
      );
      const expiration = channel.expiration ?? now + TTL_SECONDS * 1000;
      await state.put(stateKey(event), {
        id: channel.id,
        resourceId: channel.resourceId,
        expiration,
        secret,
      });
      (saved.success ? report.renewed : report.created).push(
        `${event} ${channel.id} until ${new Date(expiration).toISOString()}`,
      );
      if (saved.success) {
        if (saved.data.expiration <= now) lapsed = true;
        // The new channel is open: the old one may stop. One that cannot be stopped expires anyway.
        try {
          await client.stop({ id: saved.data.id, resourceId: saved.data.resourceId }, { deadline });
          report.stopped.push(`${event} ${saved.data.id}`);
        } catch {
          report.stopped.push(`${event} ${saved.data.id} (left to expire)`);
        }
      }
    } catch (error) {
      report.failed.push(`${event}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (lapsed) {
    const body: QueuedPush = {
      kind: GOOGLE_KIND,
      receivedAt: new Date(now).toISOString(),
      event: "full-read",
    };
    await context.ingest([JSON.stringify(body)]);
  }
  return report;
}

/** Stops every channel the directory holds (when the source is turned off). */
export async function stopGoogleChannels(
  context: MaintainContext<GoogleConfig, GoogleClient>,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const event of WATCH_EVENTS) {
    const saved = SavedSchema.safeParse(await context.state.get(stateKey(event)));
    if (!saved.success) continue;
    await context
      .connection()
      .stop({ id: saved.data.id, resourceId: saved.data.resourceId }, { deadline: context.deadline });
    await context.state.delete(stateKey(event));
    stopped.push(`${event} ${saved.data.id}`);
  }
  return stopped;
}
