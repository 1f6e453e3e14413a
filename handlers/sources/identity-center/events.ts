/**
 * IAM Identity Center's changes as CloudTrail management events on the default EventBridge bus,
 * from the public Identity Store API (`aws.identitystore`) and the console (`aws.sso-directory`).
 * Their values are masked (`HIDDEN_DUE_TO_SECURITY_REASONS`) or left out, so an event only says
 * which user (or membership, or group) to read again: see {@link Trigger}. Failed and read-only
 * calls are ignored. Only the fields read here are validated; CloudTrail adds fields freely.
 */
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { describeIssues } from "../../core/issues.js";

export const IDENTITY_CENTER_SOURCES = ["aws.identitystore", "aws.sso-directory"] as const;
export const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";

/** Calls that change a user, named by the user's id. */
const USER_EVENTS = ["CreateUser", "UpdateUser", "DeleteUser", "EnableUser", "DisableUser"] as const;
/** Calls that change one membership, naming the member (the console's names, and the API's create). */
const MEMBER_EVENTS = ["CreateGroupMembership", "AddMemberToGroup", "RemoveMemberFromGroup"] as const;

/** Every call acted on: the rule routes only these. */
export const IDENTITY_CENTER_EVENT_NAMES = [
  ...USER_EVENTS,
  ...MEMBER_EVENTS,
  "DeleteGroupMembership",
  "UpdateGroup",
  "DeleteGroup",
] as const;

const RecordSchema = z.looseObject({
  eventID: z.string().min(1),
  eventTime: z.string().min(1),
  eventName: z.string().min(1),
  eventSource: z.string().optional(),
  errorCode: z.string().nullish(),
  readOnly: z.boolean().optional(),
  requestParameters: z.record(z.string(), z.unknown()).nullish(),
  responseElements: z.record(z.string(), z.unknown()).nullish(),
});

const EnvelopeSchema = z.looseObject({
  "detail-type": z.literal(CLOUDTRAIL_DETAIL_TYPE),
  source: z.enum(IDENTITY_CENTER_SOURCES),
  detail: RecordSchema,
});

/** A body that claims to be an Identity Center CloudTrail event but breaks the format. Permanent. */
export class InvalidIdentityCenterEventError extends SyncError {
  public readonly transient = false;
}

export type Trigger = { readonly kind: string; readonly eventId: string; readonly time: string } & (
  | { readonly action: "ignore"; readonly reason: string }
  | {
      readonly action: "user";
      readonly userId: string;
      /** The call deleted or disabled the user, or re-enabled them. */
      readonly change: "deleted" | "disabled" | "enabled" | "changed";
      /** A membership the call created, to remember for its deletion. */
      readonly membershipId?: string;
    }
  | { readonly action: "membership-deleted"; readonly membershipId: string }
  | { readonly action: "group"; readonly groupId: string }
  | { readonly action: "group-deleted"; readonly groupId: string }
);

/** True when the body is a CloudTrail event of one of Identity Center's sources. */
export function claimsIdentityCenter(json: unknown): boolean {
  const raw = json as { source?: unknown; "detail-type"?: unknown } | null;
  return (
    raw !== null &&
    typeof raw === "object" &&
    raw["detail-type"] === CLOUDTRAIL_DETAIL_TYPE &&
    (IDENTITY_CENTER_SOURCES as readonly unknown[]).includes(raw.source)
  );
}

/** What the event asks for; events about another identity store are ignored. */
export function triggerOf(json: unknown, identityStoreId: string): Trigger {
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidIdentityCenterEventError(
      `invalid Identity Center CloudTrail event: ${describeIssues(parsed.error)}`,
    );
  }
  const record = parsed.data.detail;
  const base = { kind: record.eventName, eventId: record.eventID, time: record.eventTime };
  const ignore = (reason: string): Trigger => ({ ...base, action: "ignore", reason });
  if (record.errorCode) return ignore(`${record.eventName} failed (${record.errorCode})`);
  if (record.readOnly === true) return ignore(`${record.eventName} is a read-only call`);
  const request = record.requestParameters ?? {};
  const response = record.responseElements ?? {};
  const store = stringAt(request, "identityStoreId") ?? stringAt(response, "identityStoreId");
  if (store !== undefined && store !== identityStoreId) {
    return ignore(`${record.eventName} is about identity store ${store}, not ${identityStoreId}`);
  }
  const name = record.eventName;
  if ((USER_EVENTS as readonly string[]).includes(name)) {
    // CreateUser names the new user only in its response; the console's shapes vary.
    const userId =
      stringAt(request, "userId") ?? stringAt(response, "userId") ?? stringAt(response, "user", "userId");
    if (!userId) throw shapeError(name, record.eventID, "a user id");
    const change =
      name === "DeleteUser"
        ? "deleted"
        : name === "DisableUser"
          ? "disabled"
          : name === "EnableUser"
            ? "enabled"
            : "changed";
    return { ...base, action: "user", userId, change };
  }
  if ((MEMBER_EVENTS as readonly string[]).includes(name)) {
    const userId =
      stringAt(request, "memberId", "userId") ??
      stringAt(request, "member", "memberId") ??
      stringAt(request, "userId");
    if (!userId) throw shapeError(name, record.eventID, "a member's user id");
    const membershipId = stringAt(response, "membershipId");
    return { ...base, action: "user", userId, change: "changed", ...(membershipId ? { membershipId } : {}) };
  }
  if (name === "DeleteGroupMembership") {
    const membershipId = stringAt(request, "membershipId");
    if (!membershipId) throw shapeError(name, record.eventID, "a membership id");
    return { ...base, action: "membership-deleted", membershipId };
  }
  if (name === "UpdateGroup") {
    const groupId = stringAt(request, "groupId");
    if (!groupId) throw shapeError(name, record.eventID, "a group id");
    return { ...base, action: "group", groupId };
  }
  if (name === "DeleteGroup") {
    const groupId = stringAt(request, "groupId");
    if (!groupId) throw shapeError(name, record.eventID, "a group id");
    return { ...base, action: "group-deleted", groupId };
  }
  return ignore(`Identity Center call ${name} is not synced`);
}

/** The non-empty string at a path of an object, if any. */
function stringAt(value: unknown, ...path: string[]): string | undefined {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === "string" && at.trim() !== "" ? at.trim() : undefined;
}

function shapeError(name: string, eventId: string, what: string): InvalidIdentityCenterEventError {
  return new InvalidIdentityCenterEventError(`Identity Center ${name} event ${eventId} carries no ${what}`);
}
