/**
 * Microsoft Graph change notifications: what the webhook function accepts, and the body it puts on
 * the ingest queue for each notification. Graph's own body carries `clientState` (our secret); the
 * queued body never does, so no dead letter or log can hold it.
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { describeIssues } from "../../core/issues.js";
import type { WebhookRequest, WebhookVerdict } from "../../core/source.js";
import { jsonOrUndefined } from "../../shared/http.js";
import { matchesAnySecret } from "../../shared/secret-match.js";

/** The `kind` of every body the Entra source reads from the ingest queue. */
export const ENTRA_KIND = "msgraph.notification";

const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;

const ItemSchema = z.looseObject({
  subscriptionId: z.string().min(1),
  clientState: z.string().nullish(),
  tenantId: z.string().nullish(),
  changeType: z.string().nullish(),
  resource: z.string().nullish(),
  lifecycleEvent: z.string().nullish(),
  resourceData: z.looseObject({ id: z.string().nullish(), "@odata.type": z.string().nullish() }).nullish(),
});

const NotificationBodySchema = z.looseObject({ value: z.array(z.unknown()).min(1).max(1000) });

/** One queued notification: a change of a user or a group, or a lifecycle event of a subscription. */
export const QueuedNotificationSchema = z.strictObject({
  kind: z.literal(ENTRA_KIND),
  receivedAt: z.iso.datetime({ offset: true }),
  subscriptionId: z.string().min(1),
  tenantId: z.string().optional(),
  /** `created`, `updated`, `deleted`; absent for a lifecycle event. */
  changeType: z.string().optional(),
  /** `users` or `groups`. */
  resourceType: z.enum(["users", "groups"]).optional(),
  resourceId: z.string().min(1).optional(),
  lifecycleEvent: z.enum(LIFECYCLE_EVENTS).optional(),
});
export type QueuedNotification = z.output<typeof QueuedNotificationSchema>;

/** A queued body that claims to be a Graph notification but breaks the format. Permanent. */
export class InvalidEntraNotificationError extends SyncError {
  public readonly transient = false;
}

export function claimsEntra(json: unknown): boolean {
  return json !== null && typeof json === "object" && (json as { kind?: unknown }).kind === ENTRA_KIND;
}

export function parseQueuedNotification(json: unknown): QueuedNotification {
  const parsed = QueuedNotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidEntraNotificationError(
      `invalid queued Graph notification: ${describeIssues(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** A change of one user, as a full read of the user asks for it (after `missed`, or for a group's member). */
export function userReadBody(
  base: Pick<QueuedNotification, "receivedAt" | "subscriptionId" | "tenantId">,
  userId: string,
) {
  const body: QueuedNotification = {
    kind: ENTRA_KIND,
    receivedAt: base.receivedAt,
    subscriptionId: base.subscriptionId,
    ...(base.tenantId ? { tenantId: base.tenantId } : {}),
    changeType: "updated",
    resourceType: "users",
    resourceId: userId,
  };
  return JSON.stringify(body);
}

/** Graph's validation tokens are short; anything far longer is not Graph. */
const MAX_VALIDATION_TOKEN = 4_096;

/**
 * The webhook's answer to one request from Graph:
 * - `?validationToken=…`: 200, `text/plain`, the token (decoded: API Gateway decodes the query),
 *   nothing queued;
 * - a POST of notifications: 202 once every item's `clientState` is one of ours (else 403, and
 *   nothing of the body is used); each change goes on the ingest queue alone, `missed` too (a full
 *   read); `reauthorizationRequired` and `subscriptionRemoved` go to the subscription function.
 */
/** The webhook's check of one Graph notification request, for the tenant the function is deployed for. */
export function receiveEntra(request: WebhookRequest, secrets: readonly string[]): WebhookVerdict {
  return receiveGraph(request, secrets, { tenantId: process.env.ENTRA_TENANT_ID || undefined });
}

export function receiveGraph(
  request: WebhookRequest,
  secrets: readonly string[],
  options: { readonly tenantId?: string } = {},
): WebhookVerdict {
  const token = request.query.validationToken;
  if (token !== undefined) {
    if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN) {
      return { status: 400, rejected: "a validation token of an unexpected length" };
    }
    return { status: 200, contentType: "text/plain", body: token };
  }
  if (request.method !== "POST") return { status: 405, rejected: `method ${request.method}` };
  const body = NotificationBodySchema.safeParse(jsonOrUndefined(request.body));
  if (!body.success) return { status: 400, rejected: "not a Graph notification body" };
  const items = body.data.value.map((item) => ItemSchema.safeParse(item));
  // Every item must carry our secret: one forged item makes the whole body untrusted.
  if (items.some((i) => !i.success || !matchesAnySecret(i.data.clientState ?? undefined, secrets))) {
    return { status: 403, rejected: "clientState does not match" };
  }
  const queue: string[] = [];
  const maintain: string[] = [];
  for (const parsed of items) {
    if (!parsed.success) continue;
    const item = parsed.data;
    // Graph names the tenant in every notification: one without it is not from our tenant either.
    if (options.tenantId && item.tenantId?.toLowerCase() !== options.tenantId.toLowerCase()) {
      return {
        status: 403,
        rejected: item.tenantId
          ? `a notification from tenant ${item.tenantId}`
          : "a notification without a tenantId",
      };
    }
    const base = {
      kind: ENTRA_KIND,
      receivedAt: request.receivedAt,
      subscriptionId: item.subscriptionId,
      ...(item.tenantId ? { tenantId: item.tenantId } : {}),
    } as const;
    if (item.lifecycleEvent) {
      const lifecycle = (LIFECYCLE_EVENTS as readonly string[]).includes(item.lifecycleEvent)
        ? (item.lifecycleEvent as (typeof LIFECYCLE_EVENTS)[number])
        : undefined;
      if (!lifecycle) continue;
      const queued = JSON.stringify({ ...base, lifecycleEvent: lifecycle } satisfies QueuedNotification);
      (lifecycle === "missed" ? queue : maintain).push(queued);
      continue;
    }
    const [collection, id] = (item.resource ?? "").split("/");
    const resourceType = collection?.toLowerCase();
    const resourceId = item.resourceData?.id ?? id;
    if ((resourceType !== "users" && resourceType !== "groups") || !resourceId || !item.changeType) continue;
    // One notification may name several change types ("updated,deleted" is never sent, but be safe).
    queue.push(
      JSON.stringify({
        ...base,
        changeType: item.changeType,
        resourceType,
        resourceId,
      } satisfies QueuedNotification),
    );
  }
  return { status: 202, queue, maintain };
}
