/**
 * A Graph change notification -> canonical identity events.
 *
 * Graph's notifications for users and groups say only that something changed (ids, no values, no
 * time), so each is a trigger to read the current state: the user is read in full (profile,
 * enabled or not, every group) and described as of the moment it was read. Every notification
 * about one user then asks for the same end state, whichever is read last; a duplicate asks for it
 * again, which changes nothing. A group's notification is turned into a read of each member Graph's
 * delta query says was added or removed.
 */

import { DELTA_STATE_NAME } from "../../contracts/directory-keys.js";
import { type CoreConfig, roleOfGroup, tallyfyGroupsOf } from "../../core/config.js";
import { readStampedId } from "../../core/desired-state.js";
import { EventUserSchema, type IdentityEvent } from "../../core/identity-event.js";
import { checkedProfile, type ProfileField } from "../../core/profile-values.js";
import type { SourceState } from "../../core/source.js";
import type { GraphCallOptions, GraphClient, GraphGroup, GraphUser } from "./client.js";
import type { EntraConfig } from "./config.js";
import { type QueuedNotification, userReadBody } from "./events.js";

export type Translated =
  | { readonly ignored: string }
  | { readonly departed: { readonly subject: string; readonly id: string; readonly time: string } }
  | { readonly groupsDeleted: { readonly names: string[]; readonly id: string; readonly time: string } }
  | { readonly split: { readonly body: string; readonly eventId: string }[] }
  | {
      readonly events: IdentityEvent[];
      readonly warnings: string[];
      readonly subject: string;
      readonly links?: Record<string, string>;
    };

export interface EntraAdapterDeps {
  readonly client: GraphClient;
  readonly config: CoreConfig;
  readonly entra: EntraConfig;
  readonly linked?: (id: string) => Promise<string | undefined>;
  readonly state?: SourceState;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The key a mapped group's name is remembered under: a deletion names only the id. */
export const groupLink = (groupId: string) => `group:${groupId}`;
/** Where a group's delta link is kept between notifications. */
export const deltaKey = (groupId: string) => `${DELTA_STATE_NAME}${groupId}`;

export async function translateGraphNotification(
  notification: QueuedNotification,
  eventId: string,
  deps: EntraAdapterDeps,
  opts: GraphCallOptions = {},
): Promise<Translated> {
  if (notification.lifecycleEvent === "missed") return fullRead(notification, eventId, deps, opts);
  if (notification.lifecycleEvent) {
    return { ignored: `lifecycle event ${notification.lifecycleEvent} is the subscription function's` };
  }
  const id = notification.resourceId;
  if (!id) return { ignored: "notification names no resource" };
  if (notification.resourceType === "groups") return groupChanged(notification, id, eventId, deps, opts);
  return readUser(id, eventId, deps, opts);
}

/** The user as Graph has them now; `eventId` names the trigger. */
export async function readUser(
  userId: string,
  eventId: string,
  deps: EntraAdapterDeps,
  opts: GraphCallOptions = {},
): Promise<Translated> {
  const { client, entra, config } = deps;
  const now = (deps.now ?? Date.now)();
  const time = new Date(now).toISOString();
  const user = await client.getUser(userId, opts);
  // Deleted (soft or hard): Graph can no longer say who they were; the directory's link does.
  if (!user) return { departed: { subject: userId, id: eventId, time } };
  const base = { id: readStampedId(eventId, now), time, source: "entra" };
  const email = emailOf(user) ?? (await deps.linked?.(userId));
  if (!email)
    return { ignored: `Entra user ${userId} has no mail or userPrincipalName that is an email address` };
  const guest =
    user.userType && entra.guestUserTypes.some((t) => t.toLowerCase() === user.userType?.toLowerCase())
      ? true
      : user.userPrincipalName?.includes("#EXT#")
        ? true
        : undefined;
  if (user.accountEnabled === false) {
    return {
      events: [{ ...base, type: "user.deactivated", user: { email, guest } }],
      warnings: [],
      subject: userId,
    };
  }
  const groups = await client.memberOf(userId, entra.transitiveGroups, opts);
  const names = groups.flatMap((g) => [g.id, ...(g.displayName ? [g.displayName] : [])]);
  if (entra.groups.length > 0 && !inScope(entra, groups)) {
    // Out of scope: someone this sync provisioned leaves; anyone else is not Tallyfy's concern.
    if (!(await deps.linked?.(userId))) {
      return { ignored: `Entra user ${userId} is in none of the groups in scope` };
    }
    return {
      events: [{ ...base, type: "user.deactivated", user: { email, guest } }],
      warnings: [],
      subject: userId,
    };
  }
  const mailbox = wantsMailbox(entra) ? await client.getMailboxSettings(userId, opts) : undefined;
  const { profile, warnings } = profileOf(
    { ...user, ...(mailbox ? { mailboxSettings: mailbox } : {}) },
    entra,
    userId,
  );
  const links: Record<string, string> = {};
  for (const group of groups) {
    if (group.displayName && isMapped(config, [group.id, group.displayName]))
      links[groupLink(group.id)] = group.displayName;
  }
  return {
    events: [
      // Enabled and in scope now: a departure recorded earlier is undone (a newer read still wins).
      { ...base, id: `${base.id}:enabled`, type: "user.reactivated", user: { email, guest } },
      { ...base, type: "user.updated", user: { ...profile, email, guest, groups: names } },
    ],
    warnings,
    subject: userId,
    links,
  };
}

async function groupChanged(
  notification: QueuedNotification,
  groupId: string,
  eventId: string,
  deps: EntraAdapterDeps,
  opts: GraphCallOptions,
): Promise<Translated> {
  const time = new Date((deps.now ?? Date.now)()).toISOString();
  if (notification.changeType === "deleted") {
    // Applied only when Graph confirms it: a stale or replayed deletion of a group Graph still has
    // must not take its members out.
    if (await deps.client.getGroup(groupId, opts)) {
      return { ignored: `Entra group ${groupId} still exists: the deletion is stale` };
    }
    const name = await deps.linked?.(groupLink(groupId));
    return { groupsDeleted: { names: [groupId, ...(name ? [name] : [])], id: eventId, time } };
  }
  const group = await deps.client.getGroup(groupId, opts);
  if (!group) return { ignored: `Entra group ${groupId} no longer exists` };
  const names = [group.id, ...(group.displayName ? [group.displayName] : [])];
  const scoped = deps.entra.groups.some((g) => names.some((n) => n.toLowerCase() === g.toLowerCase()));
  if (!scoped && !isMapped(deps.config, names)) {
    return { ignored: `Entra group ${group.displayName ?? groupId} is neither in scope nor mapped` };
  }
  // Graph's own members@delta in the notification is not documented for groups: ask the delta query.
  const saved = await deps.state?.get(deltaKey(groupId));
  const delta = await deps.client.groupMemberDelta(
    groupId,
    typeof saved === "string" ? saved : undefined,
    opts,
  );
  if (delta.deltaLink) await deps.state?.put(deltaKey(groupId), delta.deltaLink);
  const members = [...new Set([...delta.added, ...delta.removed])];
  if (members.length === 0)
    return { ignored: `no member of Entra group ${group.displayName ?? groupId} changed` };
  // Each member is read again, alone: their memberOf then says whether they are in the group.
  return {
    split: members.map((userId) => ({
      body: userReadBody(notification, userId),
      eventId: `${eventId}:${userId}`,
    })),
  };
}

/** After `missed`: every user in scope is read again, each alone. */
async function fullRead(
  notification: QueuedNotification,
  eventId: string,
  deps: EntraAdapterDeps,
  opts: GraphCallOptions,
): Promise<Translated> {
  const ids = new Set<string>();
  if (deps.entra.groups.length > 0) {
    for (const scope of deps.entra.groups) {
      for (const id of await deps.client.groupMemberIds(scope, deps.entra.transitiveGroups, opts))
        ids.add(id);
    }
  } else {
    let cursor: string | undefined;
    do {
      const page = await deps.client.listUsersPage(cursor, opts);
      for (const user of page.users) ids.add(user.id);
      cursor = page.next;
    } while (cursor);
  }
  if (ids.size === 0) return { ignored: "notifications were missed, but no user is in scope" };
  return {
    split: [...ids].map((id) => ({ body: userReadBody(notification, id), eventId: `${eventId}:${id}` })),
  };
}

/** True when the user is in a group in scope (configured by id or display name). */
function inScope(entra: EntraConfig, groups: readonly GraphGroup[]): boolean {
  const wanted = new Set(entra.groups.map((g) => g.toLowerCase()));
  return groups.some(
    (g) =>
      wanted.has(g.id.toLowerCase()) ||
      (g.displayName !== undefined && g.displayName !== null && wanted.has(g.displayName.toLowerCase())),
  );
}

function isMapped(config: CoreConfig, names: readonly string[]): boolean {
  return names.some((n) => roleOfGroup(config, n) !== undefined || tallyfyGroupsOf(config, n).length > 0);
}

const isEmail = (value: string | null | undefined): value is string =>
  typeof value === "string" && EventUserSchema.shape.email.safeParse(value).success;

/** `mail`, else the UPN when it is an address (a guest's `#EXT#` UPN is not). */
export function emailOf(user: GraphUser): string | undefined {
  if (isEmail(user.mail?.trim())) return user.mail?.trim();
  const upn = user.userPrincipalName?.trim();
  return upn && !upn.includes("#EXT#") && isEmail(upn) ? upn : undefined;
}

function wantsMailbox(entra: EntraConfig): boolean {
  return Object.values(entra.attributes).some((paths) => paths.some((p) => p.startsWith("mailboxSettings.")));
}

/** The value at a dotted path; a number picks an element of a list. */
function valueAt(value: unknown, path: string): string | undefined {
  let at = value;
  for (const key of path.split(".")) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === "string" && at.trim() !== "" ? at.trim() : undefined;
}

export function profileOf(user: Record<string, unknown>, entra: EntraConfig, userId: string) {
  const attributes = entra.attributes as Record<ProfileField, string[]>;
  return checkedProfile(
    (field) => {
      for (const path of attributes[field]) {
        const value = valueAt(user, path);
        if (value !== undefined) return value;
      }
      return undefined;
    },
    (field) => `${attributes[field].join("/")} of Entra user ${userId}`,
  );
}
