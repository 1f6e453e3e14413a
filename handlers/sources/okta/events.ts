/**
 * Okta's two push formats, recognised in an SQS body: an Event Hook POST body (several System
 * Log events) and a Log Streaming EventBridge envelope (one). Only the fields the adapter uses
 * are validated; Okta adds fields freely, so everything else passes through untouched.
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { describeIssues } from "../../core/issues.js";

const TargetSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  alternateId: z.string().nullish(),
  displayName: z.string().nullish(),
});

/** One Okta System Log event (`LogEvent`), as both formats carry it. */
export const LogEventSchema = z.looseObject({
  uuid: z.string().min(1),
  published: z.string().min(1),
  eventType: z.string().min(1),
  outcome: z.looseObject({ result: z.string() }).nullish(),
  target: z.array(TargetSchema).nullish(),
  debugContext: z.looseObject({ debugData: z.record(z.string(), z.unknown()).nullish() }).nullish(),
});
export type LogEvent = z.output<typeof LogEventSchema>;
export type LogTarget = z.output<typeof TargetSchema>;

export const EventHookBodySchema = z.looseObject({
  eventType: z.literal("com.okta.event_hook"),
  eventId: z.string().optional(),
  // Each event is validated on its own, so one malformed event does not sink the others.
  data: z.looseObject({ events: z.array(z.unknown()) }),
});

export const LogStreamEnvelopeSchema = z.looseObject({
  "detail-type": z.literal("SystemLog"),
  source: z.string().startsWith("aws.partner/okta.com/"),
  detail: z.unknown(),
});

/** An SQS body in an Okta format that does not hold what the format promises. Permanent. */
export class InvalidOktaEventError extends SyncError {
  public readonly transient = false;
}

export interface OktaBody {
  readonly format: "event-hook" | "log-stream";
  /** The System Log events, not yet validated: see {@link parseLogEvent}. */
  readonly events: readonly unknown[];
  readonly raw: Record<string, unknown>;
}

/** True when the body claims one of Okta's formats (it may still break it: see {@link recogniseOkta}). */
export function claimsOkta(json: unknown): boolean {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return false;
  const raw = json as Record<string, unknown>;
  return (
    raw.eventType === "com.okta.event_hook" ||
    (typeof raw.source === "string" && raw.source.startsWith("aws.partner/okta.com/"))
  );
}

/**
 * The Okta events in an SQS body, or undefined when the body is not in an Okta format (it may be
 * a canonical event). A body that claims an Okta format but breaks it throws
 * {@link InvalidOktaEventError} naming the problem.
 */
export function recogniseOkta(json: unknown): OktaBody | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  const raw = json as Record<string, unknown>;
  if (raw.eventType === "com.okta.event_hook") {
    const parsed = EventHookBodySchema.safeParse(raw);
    if (!parsed.success)
      throw new InvalidOktaEventError(`invalid Okta event hook body: ${describeIssues(parsed.error)}`);
    return { format: "event-hook", events: parsed.data.data.events, raw };
  }
  if (typeof raw.source === "string" && raw.source.startsWith("aws.partner/okta.com/")) {
    const parsed = LogStreamEnvelopeSchema.safeParse(raw);
    if (!parsed.success)
      throw new InvalidOktaEventError(`invalid Okta log stream event: ${describeIssues(parsed.error)}`);
    return { format: "log-stream", events: [parsed.data.detail], raw };
  }
  return undefined;
}

/** One System Log event, validated; the error names the event's uuid when it has one. */
export function parseLogEvent(json: unknown): LogEvent {
  const parsed = LogEventSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const uuid = (json as { uuid?: unknown } | null)?.uuid;
  throw new InvalidOktaEventError(
    `invalid Okta System Log event${typeof uuid === "string" ? ` ${uuid}` : ""}: ${describeIssues(parsed.error)}`,
  );
}

/** An event hook body holding only `event`, keeping the rest of the envelope: how one event of many is queued alone. */
export function singleEventHookBody(raw: Record<string, unknown>, event: unknown): string {
  const data = (raw.data ?? {}) as Record<string, unknown>;
  return JSON.stringify({ ...raw, data: { ...data, events: [event] } });
}

/** The first target of a type (`User`, `UserGroup`, `AppInstance`). */
export function targetOf(event: LogEvent, type: string): LogTarget | undefined {
  return event.target?.find((t) => t.type === type);
}
