/**
 * Okta System Log events -> canonical identity events.
 *
 * Okta's events say *that* something changed, rarely *what*, and arrive at least once and in any
 * order. So an event only names the user (or group) to look at: the adapter reads the current
 * state from the Okta API and describes that, in full (profile and the whole group list). Every
 * event about one user then asks for the same end state, whichever arrives last, and a
 * duplicate asks for it again, which changes nothing.
 */

import { type CoreConfig, roleOfGroup, tallyfyGroupsOf } from "../../core/config.js";
import { PROFILE_FIELDS, readStampedId } from "../../core/desired-state.js";
import { SyncError } from "../../core/errors.js";
import { EventUserSchema, type IdentityEvent } from "../../core/identity-event.js";
import type { OktaCallOptions, OktaClient, OktaUser } from "./client.js";
import type { OktaConfig } from "./config.js";
import { type LogEvent, targetOf } from "./events.js";

/** Events that mean "look at this user again". */
const USER_CHANGED = new Set([
  "user.lifecycle.create",
  "user.lifecycle.activate",
  "user.account.update_profile",
  "group.user_membership.add",
  "group.user_membership.remove",
  "application.user_membership.add",
]);
/** Events that mean the user is leaving. */
const USER_LEFT = new Set([
  "user.lifecycle.deactivate",
  "user.lifecycle.suspend",
  "user.lifecycle.delete.initiated",
  "application.user_membership.remove",
]);
/** Events that mean the user is back. */
const USER_RETURNED = new Set(["user.lifecycle.unsuspend", "user.lifecycle.reactivate"]);

/** Every Okta event type the adapter acts on: subscribe the hook (or filter the rule) to these. */
export const OKTA_EVENT_TYPES = [
  ...USER_CHANGED,
  ...USER_LEFT,
  ...USER_RETURNED,
  "group.profile.update",
] as const;

/** Okta statuses in which the person must not use Tallyfy. */
const INACTIVE = new Set(["SUSPENDED", "DEPROVISIONED"]);

/** The Okta user cannot be matched to a Tallyfy person (no email anywhere). Permanent. */
export class OktaUserUnresolvableError extends SyncError {
  public readonly transient = false;
}

/** The event lacks the target its type always carries. Permanent. */
export class OktaEventShapeError extends SyncError {
  public readonly transient = false;
}

export interface Translated {
  /** Canonical events to apply, in order. */
  readonly events: IdentityEvent[];
  /** Why nothing is to be done, when nothing is. */
  readonly ignored?: string;
  /** Profile values left out because they cannot be written to Tallyfy (masked, too long...). */
  readonly warnings: string[];
  /** The Okta user id the events are about. */
  readonly subject?: string;
  /**
   * The Okta user no longer exists, so Okta cannot say who they were: whoever the directory
   * linked to this id when provisioning them departs. The event's own login is not trusted.
   */
  readonly departed?: { readonly subject: string; readonly id: string; readonly time: string };
}

export interface OktaAdapterDeps {
  readonly client: OktaClient;
  readonly config: CoreConfig;
  readonly okta: OktaConfig;
}

const ignore = (reason: string): Translated => ({ events: [], ignored: reason, warnings: [] });

/** Translates one Okta System Log event, reading Okta for the current state it refers to. */
export async function translateOktaEvent(
  event: LogEvent,
  deps: OktaAdapterDeps,
  opts: OktaCallOptions = {},
): Promise<Translated> {
  const type = event.eventType;
  const result = event.outcome?.result ?? "SUCCESS";
  if (result !== "SUCCESS") return ignore(`${type} with outcome ${result}`);
  if (type === "group.profile.update") return groupChanged(event, deps, opts);
  if (!USER_CHANGED.has(type) && !USER_LEFT.has(type) && !USER_RETURNED.has(type)) {
    return ignore(`Okta event type ${type} is not synced`);
  }
  const { okta } = deps;
  if (type.startsWith("application.")) {
    const app = targetOf(event, "AppInstance");
    if (!okta.appId) return ignore("okta.appId is not configured, so app assignments are not synced");
    if (app?.id !== okta.appId) return ignore(`app ${app?.id ?? "(none)"} is not the Tallyfy app`);
  }
  if (type.startsWith("group.user_membership.")) {
    // A group the configuration does not map changes nothing in Tallyfy: spare Okta the reads.
    const group = targetOf(event, "UserGroup");
    if (group && !isMapped(deps.config, [group.id, group.displayName ?? ""])) {
      return ignore(`Okta group ${group.displayName ?? group.id} is not mapped to a role or a Tallyfy group`);
    }
  }
  const target = targetOf(event, "User");
  if (!target) throw new OktaEventShapeError(`${type} event ${event.uuid} has no User target`);
  const login = target.alternateId ?? "";
  // The event is only a reason to read: its data is what Okta answers now, so it is versioned at
  // the read (taken before it: the data is at least that fresh), not at its publication. A hook
  // delivered late must not lose to a newer event's older read.
  const readAt = Date.now();
  const base = {
    id: readStampedId(event.uuid, readAt),
    time: new Date(readAt).toISOString(),
    source: "okta",
  };

  const user = await deps.client.getUser(target.id, opts);
  if (!user) {
    return {
      events: [],
      warnings: [],
      departed: { subject: target.id, id: base.id, time: base.time },
    };
  }
  const email = emailOf(user, okta, login);
  const guest = isGuestType(user, okta);
  if (INACTIVE.has(user.status)) {
    return {
      events: [{ ...base, type: "user.deactivated", user: { email, guest } }],
      warnings: [],
      subject: user.id,
    };
  }
  const assigned = okta.appId ? await deps.client.isAssignedToApp(okta.appId, user.id, opts) : true;
  if (!assigned) {
    if (USER_LEFT.has(type)) {
      return {
        events: [{ ...base, type: "user.deactivated", user: { email, guest } }],
        warnings: [],
        subject: user.id,
      };
    }
    return ignore(`Okta user ${user.id} is not assigned to the Tallyfy app`);
  }
  if (USER_LEFT.has(type)) {
    // A later event brought the user back; the event that says so is applied on its own.
    return ignore(`${type} is stale: the Okta user is ${user.status} now`);
  }

  const groups = await deps.client.listUserGroups(user.id, opts);
  const { profile, warnings } = profileOf(user, okta);
  const state: IdentityEvent = {
    ...base,
    type: "user.updated",
    user: {
      ...profile,
      email,
      guest,
      // Ids and names both, so the configuration may map an Okta group by either.
      groups: groups.flatMap((g) => [g.id, g.profile.name]),
    },
  };
  const events: IdentityEvent[] = USER_RETURNED.has(type)
    ? [{ ...base, id: `${event.uuid}:reactivate`, type: "user.reactivated", user: { email, guest } }, state]
    : [state];
  return { events, warnings, subject: user.id };
}

/**
 * A listed user's state now, as full reconciliation records it: the same events a hook about the
 * user would give (deactivated when Okta has them SUSPENDED, else their full profile and groups),
 * or undefined when the user is out of scope (not assigned to the Tallyfy app), which a run
 * treats as it treats a user Okta no longer has.
 */
export async function listedStateOf(
  user: OktaUser,
  deps: OktaAdapterDeps,
  base: { readonly id: string; readonly time: string },
  opts: OktaCallOptions = {},
): Promise<{ readonly events: IdentityEvent[]; readonly warnings: string[] } | undefined> {
  const { okta } = deps;
  const email = emailOf(user, okta, "");
  const guest = isGuestType(user, okta);
  const event = { ...base, source: "okta" };
  if (INACTIVE.has(user.status)) {
    return { events: [{ ...event, type: "user.deactivated", user: { email, guest } }], warnings: [] };
  }
  if (okta.appId && !(await deps.client.isAssignedToApp(okta.appId, user.id, opts))) return undefined;
  // A read per user: spared when no Okta group gives a role or maps to a Tallyfy group, as then
  // no membership changes anything in Tallyfy (the event then leaves memberships as they are).
  const { roles, groups: mapped } = deps.config;
  const mapsGroups = [...roles.admin, ...roles.standard, ...roles.light, ...Object.keys(mapped)].length > 0;
  const groups = mapsGroups ? await deps.client.listUserGroups(user.id, opts) : undefined;
  const { profile, warnings } = profileOf(user, okta);
  return {
    events: [
      // Active and assigned now: a departure the sync inferred or an event it lost is undone (a
      // newer event still wins, by version).
      { ...event, id: `${base.id}:active`, type: "user.reactivated", user: { email, guest } },
      {
        ...event,
        type: "user.updated",
        user: {
          ...profile,
          email,
          guest,
          ...(groups ? { groups: groups.flatMap((g) => [g.id, g.profile.name]) } : {}),
        },
      },
    ],
    warnings,
  };
}

async function groupChanged(
  event: LogEvent,
  deps: OktaAdapterDeps,
  opts: OktaCallOptions,
): Promise<Translated> {
  const target = targetOf(event, "UserGroup");
  if (!target)
    throw new OktaEventShapeError(`group.profile.update event ${event.uuid} has no UserGroup target`);
  const group = await deps.client.getGroup(target.id, opts);
  if (!group) return ignore(`Okta group ${target.id} no longer exists`);
  const mappedById = Object.keys(deps.config.groups).some((idp) => idp.trim() === group.id);
  return {
    events: [
      {
        id: event.uuid,
        time: event.published,
        source: "okta",
        type: "group.updated",
        // Mapped by id, the id finds the mapping and the current name is the new one; mapped by
        // name, the name finds it. Okta does not say what the name was before.
        group: {
          name: group.profile.name,
          description: group.profile.description ?? "",
          ...(mappedById ? { previousName: group.id } : {}),
        },
      },
    ],
    warnings: [],
  };
}

/** True when any of the names (an Okta group's id and name) gives a role or maps to a Tallyfy group. */
function isMapped(config: CoreConfig, names: readonly string[]): boolean {
  return names.some(
    (name) => roleOfGroup(config, name) !== undefined || tallyfyGroupsOf(config, name).length > 0,
  );
}

function isEmail(value: string): boolean {
  return EventUserSchema.shape.email.safeParse(value).success;
}

function firstValue(user: OktaUser, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = user.profile[name];
    if (typeof value === "string" && value.trim() !== "") return value.trim();
  }
  return undefined;
}

function emailOf(user: OktaUser, okta: OktaConfig, login: string): string {
  const candidates = [firstValue(user, okta.attributes.email), firstValue(user, ["login"]), login];
  const email = candidates.find((value) => value !== undefined && isEmail(value));
  if (!email) {
    throw new OktaUserUnresolvableError(
      `Okta user ${user.id} has no email in ${okta.attributes.email.join(", ")} or its login`,
    );
  }
  return email;
}

function isGuestType(user: OktaUser, okta: OktaConfig): boolean | undefined {
  if (okta.guestUserTypes.length === 0) return undefined;
  const userType = firstValue(user, ["userType"]);
  // Not a guest type: the email domain still decides, as for any other source.
  return userType !== undefined && okta.guestUserTypes.some((t) => t.toLowerCase() === userType.toLowerCase())
    ? true
    : undefined;
}

/**
 * The mapped profile values Tallyfy can take. A value the canonical event would refuse (masked,
 * too long, not a time zone) is left out with a warning rather than failing the whole user: the
 * rest of the profile, the role and the groups still apply, and Tallyfy keeps its old value.
 */
function profileOf(user: OktaUser, okta: OktaConfig) {
  const profile: Partial<Record<(typeof PROFILE_FIELDS)[number], string>> = {};
  const warnings: string[] = [];
  for (const field of PROFILE_FIELDS) {
    const names = okta.attributes[field];
    const value = firstValue(user, names);
    if (value === undefined) continue;
    const checked = EventUserSchema.shape[field].safeParse(value);
    if (checked.success && checked.data !== undefined) profile[field] = checked.data;
    else
      warnings.push(
        `${names.join("/")} of Okta user ${user.id} left out: ${checked.error?.issues[0]?.message}`,
      );
  }
  return { profile, warnings };
}
