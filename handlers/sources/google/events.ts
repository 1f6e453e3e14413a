/**
 * Google Admin SDK Directory API push notifications (`users.watch`): what the webhook function
 * accepts, and the body it queues. The event type arrives only in `X-Goog-Resource-State`; the
 * channel token (our secret) only in `X-Goog-Channel-Token`, which the queued body never carries.
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { describeIssues } from "../../core/issues.js";
import type { WebhookRequest, WebhookVerdict } from "../../core/source.js";
import { jsonOrUndefined } from "../../shared/http.js";
import { matchesAnySecret } from "../../shared/secret-match.js";

export const GOOGLE_KIND = "google.directory.push";

/** The event types `users.watch` takes, one channel each. */
export const WATCH_EVENTS = ["add", "delete", "makeAdmin", "undelete", "update"] as const;
export type WatchEvent = (typeof WATCH_EVENTS)[number];

const StubSchema = z.looseObject({
  id: z.string().min(1).max(100),
  primaryEmail: z.string().max(320).optional(),
});

export const QueuedPushSchema = z.strictObject({
  kind: z.literal(GOOGLE_KIND),
  receivedAt: z.iso.datetime({ offset: true }),
  event: z.enum([...WATCH_EVENTS, "full-read"]),
  /** The user's id (numeric, as Google gives it). Absent for a full read. */
  userId: z.string().min(1).optional(),
  channelId: z.string().max(200).optional(),
  messageNumber: z.string().max(40).optional(),
});
export type QueuedPush = z.output<typeof QueuedPushSchema>;

export class InvalidGooglePushError extends SyncError {
  public readonly transient = false;
}

export function claimsGoogle(json: unknown): boolean {
  return json !== null && typeof json === "object" && (json as { kind?: unknown }).kind === GOOGLE_KIND;
}

export function parseQueuedPush(json: unknown): QueuedPush {
  const parsed = QueuedPushSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidGooglePushError(`invalid queued Google push: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A read of one user, as a full read queues it. */
export function userReadBody(receivedAt: string, userId: string): string {
  return JSON.stringify({ kind: GOOGLE_KIND, receivedAt, event: "update", userId } satisfies QueuedPush);
}

/**
 * The webhook's answer to one push: the channel token must be one of ours (else 403, nothing used);
 * `sync` (sent when a channel is made) is acknowledged and ignored; each event of a watched type is
 * queued with the user's id.
 */
export function receiveGoogle(request: WebhookRequest, secrets: readonly string[]): WebhookVerdict {
  if (request.method !== "POST") return { status: 405, rejected: `method ${request.method}` };
  if (!matchesAnySecret(request.headers["x-goog-channel-token"], secrets)) {
    return { status: 403, rejected: "X-Goog-Channel-Token does not match" };
  }
  const state = request.headers["x-goog-resource-state"];
  if (state === "sync") return { status: 200, queue: [] };
  if (!(WATCH_EVENTS as readonly (string | undefined)[]).includes(state)) {
    // Not a type we watch: acknowledged, so Google does not retry it.
    return { status: 200, queue: [] };
  }
  const stub = StubSchema.safeParse(jsonOrUndefined(request.body));
  if (!stub.success) return { status: 400, rejected: "not a Directory API user stub" };
  const channelId = request.headers["x-goog-channel-id"];
  const messageNumber = request.headers["x-goog-message-number"];
  const queued: QueuedPush = {
    kind: GOOGLE_KIND,
    receivedAt: request.receivedAt,
    event: state as WatchEvent,
    userId: stub.data.id,
    ...(channelId ? { channelId: channelId.slice(0, 200) } : {}),
    ...(messageNumber ? { messageNumber: messageNumber.slice(0, 40) } : {}),
  };
  return { status: 200, queue: [JSON.stringify(queued)] };
}
