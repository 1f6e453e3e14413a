/**
 * Auth0's two EventBridge feeds, recognised in an SQS body (the whole EventBridge event):
 * - Log Streams: `detail.data` is a tenant log event; `sapi` (a Management API write) is read by
 *   its method and path, never its display text; `ss`/`sv` are a signup and a verified email;
 *   `sdu`/`du` a deletion. The log's top-level `user_id` of a `sapi` is the acting admin.
 * - Event Streams: `detail` is a CloudEvent `user.created` / `user.updated` / `user.deleted`
 *   carrying the user in `data.object`.
 * Each becomes a {@link Trigger}: which user to read again, and what the event said of them.
 * Only the fields read here are validated; Auth0 adds fields freely.
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { describeIssues } from "../../core/issues.js";

export const AUTH0_SOURCE_PREFIX = "aws.partner/auth0.com/";

/** Log event codes acted on: a Management API write, a signup, a verified email, deletions. */
export const AUTH0_LOG_TYPES = ["sapi", "ss", "sv", "sdu", "du"] as const;
/** Event Streams types acted on. */
export const AUTH0_EVENT_TYPES = ["user.created", "user.updated", "user.deleted"] as const;

const EnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  source: z.string().startsWith(AUTH0_SOURCE_PREFIX),
  time: z.string().min(1),
  detail: z.looseObject({}),
});

const LogEventSchema = z.looseObject({
  type: z.string().min(1),
  date: z.string().min(1),
  log_id: z.string().min(1).optional(),
  user_id: z.string().optional(),
  details: z
    .looseObject({
      request: z
        .looseObject({
          method: z.string(),
          path: z.string(),
          body: z.unknown().optional(),
        })
        .optional(),
      response: z.looseObject({ statusCode: z.number().optional(), body: z.unknown().optional() }).optional(),
    })
    .nullish(),
});

const CloudEventSchema = z.looseObject({
  specversion: z.string(),
  type: z.string().min(1),
  id: z.string().min(1),
  time: z.string().min(1),
  a0purpose: z.string().optional(),
  data: z.looseObject({ object: z.looseObject({ user_id: z.string().min(1) }) }).optional(),
});

/** A body that claims an Auth0 feed but does not hold what the feed promises. Permanent. */
export class InvalidAuth0EventError extends SyncError {
  public readonly transient = false;
}

/** What one Auth0 event asks for. */
export type Trigger =
  | { readonly action: "ignore"; readonly reason: string; readonly kind: string; readonly eventId: string }
  | {
      readonly action: "read";
      /** The log code or event type, with the API route for `sapi`: names it in metrics. */
      readonly kind: string;
      readonly eventId: string;
      readonly time: string;
      /** The Auth0 user to read again. */
      readonly userId: string;
      /** The event says the user was deleted: a user Auth0 still has makes it stale (or forged). */
      readonly deleted: boolean;
      /** The event unblocked the user: an active user is reactivated. */
      readonly unblocked: boolean;
    }
  | {
      /** One role assigned to several users: each user is read on their own. */
      readonly action: "split";
      readonly kind: string;
      readonly eventId: string;
      readonly userIds: readonly string[];
    };

/** True when the body is an EventBridge event from an Auth0 partner source. */
export function claimsAuth0(json: unknown): boolean {
  const source = (json as { source?: unknown } | null)?.source;
  return (
    json !== null &&
    typeof json === "object" &&
    !Array.isArray(json) &&
    typeof source === "string" &&
    source.startsWith(AUTH0_SOURCE_PREFIX)
  );
}

/** The trigger an Auth0 EventBridge event holds; throws {@link InvalidAuth0EventError} on a broken one. */
export function triggerOf(json: unknown): Trigger {
  const envelope = check("Auth0 EventBridge event", EnvelopeSchema, json);
  const detail = envelope.detail as Record<string, unknown>;
  if ("specversion" in detail)
    return cloudEventTrigger(check("Auth0 Event Streams event", CloudEventSchema, detail));
  if (detail.data !== undefined) {
    const log = check("Auth0 log event", LogEventSchema, detail.data);
    const logId = typeof detail.log_id === "string" ? detail.log_id : (log.log_id ?? envelope.id);
    return logTrigger(log, logId);
  }
  throw new InvalidAuth0EventError(`Auth0 event ${envelope.id} is neither a log event nor a CloudEvent`);
}

/** The body for one user of a split role assignment: the same log event, naming only that user. */
export function singleUserBody(json: Record<string, unknown>, userId: string): string {
  const detail = json.detail as { data: { details: { request: { body: object } } } };
  const data = detail.data;
  const request = data.details.request;
  return JSON.stringify({
    ...json,
    detail: {
      ...detail,
      data: {
        ...data,
        details: { ...data.details, request: { ...request, body: { ...request.body, users: [userId] } } },
      },
    },
  });
}

function cloudEventTrigger(event: z.output<typeof CloudEventSchema>): Trigger {
  const base = { kind: event.type, eventId: event.id };
  if (event.a0purpose === "test") return { action: "ignore", reason: "an Auth0 test event", ...base };
  if (!(AUTH0_EVENT_TYPES as readonly string[]).includes(event.type)) {
    return { action: "ignore", reason: `Auth0 event type ${event.type} is not synced`, ...base };
  }
  const user = event.data?.object;
  if (!user) throw new InvalidAuth0EventError(`Auth0 ${event.type} event ${event.id} has no data.object`);
  return {
    action: "read",
    ...base,
    time: event.time,
    userId: user.user_id,
    deleted: event.type === "user.deleted",
    unblocked: event.type === "user.updated" && user.blocked === false,
  };
}

const USER_PATH = /^\/api\/v2\/users\/([^/]+)$/;
const USER_ROLES_PATH = /^\/api\/v2\/users\/([^/]+)\/roles$/;
const ROLE_USERS_PATH = /^\/api\/v2\/roles\/([^/]+)\/users$/;

function logTrigger(log: z.output<typeof LogEventSchema>, eventId: string): Trigger {
  const read = (kind: string, userId: string, more: { deleted?: boolean; unblocked?: boolean } = {}) =>
    ({
      action: "read",
      kind,
      eventId,
      time: log.date,
      userId,
      deleted: more.deleted ?? false,
      unblocked: more.unblocked ?? false,
    }) as const;
  const ignore = (kind: string, reason: string) => ({ action: "ignore", reason, kind, eventId }) as const;
  if (!(AUTH0_LOG_TYPES as readonly string[]).includes(log.type)) {
    return ignore(log.type, `Auth0 log type ${log.type} is not synced`);
  }
  if (log.type !== "sapi") {
    // Here the log's user is the one who signed up, verified or was deleted.
    if (!log.user_id) throw new InvalidAuth0EventError(`Auth0 ${log.type} log ${eventId} has no user_id`);
    return read(log.type, log.user_id, { deleted: log.type === "sdu" || log.type === "du" });
  }
  const request = log.details?.request;
  if (!request) throw new InvalidAuth0EventError(`Auth0 sapi log ${eventId} has no details.request`);
  const method = request.method.toUpperCase();
  const path = request.path.split("?")[0] ?? "";
  const kind = `sapi ${method} ${path.replace(/\/(users|roles)\/[^/]+/g, "/$1/{id}")}`;
  const body = (request.body ?? {}) as Record<string, unknown>;
  const decode = (segment: string | undefined) => decodeURIComponent(segment ?? "");

  if (path === "/api/v2/users" && method === "POST") {
    const created = (log.details?.response?.body as { user_id?: unknown } | undefined)?.user_id;
    if (typeof created !== "string" || created === "") {
      throw new InvalidAuth0EventError(`Auth0 sapi log ${eventId} created a user but names none`);
    }
    return read(kind, created);
  }
  let match = USER_PATH.exec(path);
  if (match && (method === "PATCH" || method === "PUT")) {
    return read(kind, decode(match[1]), { unblocked: body.blocked === false });
  }
  if (match && method === "DELETE") return read(kind, decode(match[1]), { deleted: true });
  match = USER_ROLES_PATH.exec(path);
  if (match && (method === "POST" || method === "DELETE")) return read(kind, decode(match[1]));
  match = ROLE_USERS_PATH.exec(path);
  if (match && method === "POST") {
    const users = Array.isArray(body.users)
      ? body.users.filter((u): u is string => typeof u === "string")
      : [];
    if (users.length === 0)
      throw new InvalidAuth0EventError(`Auth0 sapi log ${eventId} assigns a role to nobody`);
    return users.length === 1
      ? read(kind, users[0] as string)
      : { action: "split", kind, eventId, userIds: users };
  }
  return ignore(kind, `Auth0 Management API ${method} ${path} does not change a synced user`);
}

function check<T extends z.ZodType>(what: string, schema: T, json: unknown): z.output<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new InvalidAuth0EventError(`invalid ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
