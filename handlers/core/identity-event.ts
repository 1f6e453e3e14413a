/**
 * The canonical identity event: the public input format any producer can send to the ingest
 * queue. Its JSON Schema is generated from this file into `schema/identity-event.schema.json`.
 */
import * as z from "zod";
import { SyncError } from "./errors.js";
import { describeIssues } from "./issues.js";
import { ROLES } from "./roles.js";
import { findUntrustedJsonProblem } from "./untrusted-json.js";

// IdPs and HR exports mask or blank values they may not share; none of these may reach Tallyfy.
const PLACEHOLDER =
  /^(\*+|x{3,}|#+|-+|\.+|\?+|n\/?a|none|null|nil|undefined|unknown|redacted|\[redacted\]|<redacted>|masked|hidden|\[hidden\]|tbd|todo|placeholder|changeme)$/i;

function text(max: number) {
  return z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .refine(
      (value) => !PLACEHOLDER.test(value),
      "looks masked or a placeholder; refusing to write it to Tallyfy",
    );
}

// Tallyfy rejects names over 32 characters and names that look like a URL.
const personName = text(32).refine((value) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(value), "must not be a URL");

const timezone = z
  .string()
  .trim()
  .refine((value) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: value });
      return true;
    } catch {
      return false;
    }
  }, "must be an IANA time zone such as Europe/London");

export const EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.deactivated",
  "user.reactivated",
  "group.member_added",
  "group.member_removed",
  "group.updated",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EventUserSchema = z.strictObject({
  email: z.string().trim().pipe(z.email("must be an email address")),
  firstName: personName.optional(),
  lastName: personName.optional(),
  phone: text(20).optional(),
  jobTitle: text(200).optional(),
  jobDescription: text(5000).optional(),
  team: text(200).optional(),
  timezone: timezone.optional(),
  /** The user's FULL list of IdP groups (names or ids). Absent: memberships are left alone. */
  groups: z.array(z.string().trim().min(1)).optional(),
  /** An explicit Tallyfy role; wins over groups. */
  role: z.enum(ROLES).optional(),
  /** true: a Tallyfy guest, false: a member, whatever the email domain. Absent: `memberDomains` decides. */
  guest: z.boolean().optional(),
});

export const EventGroupSchema = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(200),
  description: z.string().max(5000).optional(),
  /** The name before a rename, for `group.updated`. */
  previousName: z.string().trim().min(1).max(200).optional(),
});

const base = {
  id: z.string().trim().min(1, "must not be empty").max(200),
  time: z.iso.datetime({ offset: true, message: "must be an ISO-8601 date-time" }),
  source: z.string().max(200).optional(),
};

const withUser = { ...base, user: EventUserSchema, group: EventGroupSchema.optional() };
const withMembership = { ...base, user: EventUserSchema, group: EventGroupSchema };

export const IdentityEventSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ ...withUser, type: z.literal("user.created") }),
    z.strictObject({ ...withUser, type: z.literal("user.updated") }),
    z.strictObject({ ...withUser, type: z.literal("user.deactivated") }),
    z.strictObject({ ...withUser, type: z.literal("user.reactivated") }),
    z.strictObject({ ...withMembership, type: z.literal("group.member_added") }),
    z.strictObject({ ...withMembership, type: z.literal("group.member_removed") }),
    z.strictObject({
      ...base,
      type: z.literal("group.updated"),
      group: EventGroupSchema,
      user: EventUserSchema.optional(),
    }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union" ? `type must be one of ${EVENT_TYPES.join(", ")}` : undefined,
  },
);

export type IdentityEvent = z.output<typeof IdentityEventSchema>;
export type EventUser = z.output<typeof EventUserSchema>;

/** A message body that is not a valid identity event. Permanent. */
export class InvalidEventError extends SyncError {
  public readonly transient = false;

  public constructor(
    message: string,
    /** The event id, when the body had a readable one. */
    public readonly eventId?: string,
  ) {
    super(message);
  }
}

/** An SQS body's JSON, or an {@link InvalidEventError} when it is not JSON. */
export function parseJsonBody(body: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidEventError("body is not valid JSON");
  }
  // Before any source walks it: no identity provider sends a key naming a prototype, or nests
  // this deep, and either can hurt the process that walks it.
  const problem = findUntrustedJsonProblem(json);
  if (problem) throw new InvalidEventError(`body refused: ${problem.message}`);
  return json;
}

/** Parses an SQS body into an identity event, or throws an {@link InvalidEventError} naming the problem. */
export function parseIdentityEvent(body: string): IdentityEvent {
  return identityEventFrom(parseJsonBody(body));
}

/** Validates parsed JSON as an identity event. */
export function identityEventFrom(json: unknown): IdentityEvent {
  const parsed = IdentityEventSchema.safeParse(json);
  if (!parsed.success) {
    const id = (json as { id?: unknown } | null)?.id;
    throw new InvalidEventError(
      `invalid identity event: ${describeIssues(parsed.error)}`,
      typeof id === "string" ? id : undefined,
    );
  }
  return parsed.data;
}

/** The JSON Schema of the event as producers send it (the input side of the zod schema). */
export function identityEventJsonSchema(): Record<string, unknown> {
  return {
    $id: "https://github.com/tallyfy-idp-sync/schema/identity-event.schema.json",
    title: "tallyfy-idp-sync identity event",
    description:
      "One change in an identity provider, sent as the body of an SQS message to the ingest queue.",
    ...z.toJSONSchema(IdentityEventSchema, { io: "input", unrepresentable: "any" }),
  };
}
