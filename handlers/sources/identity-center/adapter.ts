/**
 * An Identity Center trigger -> canonical identity events.
 *
 * CloudTrail masks the values, so the user is read from the Identity Store and described in full
 * (profile, enabled or not, and every group by id and name): every event about a user asks for the
 * same end state, whichever arrives last. The memberships of mapped groups are remembered, so a
 * `DeleteGroupMembership`, which names only the membership, finds its member again.
 */
import { type CoreConfig, roleOfGroup, tallyfyGroupsOf } from "../../core/config.js";
import { readStampedId } from "../../core/desired-state.js";
import { EventUserSchema, type IdentityEvent } from "../../core/identity-event.js";
import type { ProfileField } from "../../core/profile-values.js";
import { checkedProfile } from "../../core/profile-values.js";
import type { IdentityStoreReader, IdentityStoreUser } from "./client.js";
import type { IdentityCenterConfig } from "./config.js";
import type { Trigger } from "./events.js";

export type Translated =
  | { readonly ignored: string }
  | { readonly groupsDeleted: { readonly names: string[]; readonly id: string; readonly time: string } }
  | { readonly departed: { readonly subject: string; readonly id: string; readonly time: string } }
  | {
      readonly events: IdentityEvent[];
      readonly warnings: string[];
      readonly subject?: string;
      readonly links?: Record<string, string>;
    };

export interface IdentityCenterAdapterDeps {
  readonly store: IdentityStoreReader;
  readonly config: CoreConfig;
  readonly identityCenter: IdentityCenterConfig;
  /** The user a remembered membership belonged to. */
  readonly linked?: (id: string) => Promise<string | undefined>;
}

/** The key a membership is remembered under, among the source's links. */
export const membershipLink = (membershipId: string) => `membership:${membershipId}`;
/** The key a mapped group's name is remembered under: `DeleteGroup` names only the id. */
export const groupLink = (groupId: string) => `group:${groupId}`;

export async function translateIdentityCenterTrigger(
  trigger: Exclude<Trigger, { action: "ignore" }>,
  deps: IdentityCenterAdapterDeps,
): Promise<Translated> {
  if (trigger.action === "group") return groupChanged(trigger, deps);
  if (trigger.action === "group-deleted") {
    // Its name as first seen: a group renamed and then deleted before any of its members was read
    // again keeps the memberships recorded under the new name until their next event.
    const name = await deps.linked?.(groupLink(trigger.groupId));
    // Versioned when handled, as the memberships it ends were versioned at their reads.
    const handledAt = Date.now();
    return {
      groupsDeleted: {
        names: [trigger.groupId, ...(name ? [name] : [])],
        id: readStampedId(trigger.eventId, handledAt),
        time: new Date(handledAt).toISOString(),
      },
    };
  }
  if (trigger.action === "membership-deleted") {
    const userId = await deps.linked?.(membershipLink(trigger.membershipId));
    if (!userId) {
      return {
        ignored: `membership ${trigger.membershipId} was never seen in a mapped group: no member to read again`,
      };
    }
    return userChanged({ ...trigger, action: "user", userId, change: "changed" }, deps);
  }
  return userChanged(trigger, deps);
}

async function userChanged(
  trigger: Extract<Trigger, { action: "user" }>,
  { store, config, identityCenter, linked }: IdentityCenterAdapterDeps,
): Promise<Translated> {
  // Versioned at the read, not at CloudTrail's event time: the data is what the store says now.
  const readAt = Date.now();
  const user = await store.describeUser(trigger.userId);
  const base = {
    id: readStampedId(trigger.eventId, readAt),
    time: new Date(readAt).toISOString(),
    source: "identity-center",
  };
  if (!user) return { departed: { subject: trigger.userId, id: base.id, time: base.time } };
  if (trigger.change === "deleted") {
    return { ignored: `the identity store still has user ${trigger.userId}: the deletion is stale` };
  }
  // A user this sync provisioned stays that member without an email: disabling them must still count.
  const email = emailOf(user) ?? (await linked?.(trigger.userId));
  if (!email) return { ignored: `Identity Center user ${trigger.userId} has no email address` };
  const guest =
    user.UserType !== undefined &&
    identityCenter.guestUserTypes.some((t) => t.toLowerCase() === user.UserType?.toLowerCase())
      ? true
      : undefined;
  if (user.UserStatus === "DISABLED") {
    return {
      events: [{ ...base, type: "user.deactivated", user: { email, guest } }],
      warnings: [],
      subject: trigger.userId,
    };
  }
  if (trigger.change === "disabled") {
    // A later event enabled the user again; the event that says so is applied on its own.
    return { ignored: `DisableUser is stale: user ${trigger.userId} is enabled now` };
  }
  const memberships = await store.listMemberships(trigger.userId);
  const groups: string[] = [];
  const links: Record<string, string> = {};
  for (const membership of memberships) {
    const group = await store.describeGroup(membership.groupId);
    const names = [membership.groupId, ...(group?.displayName ? [group.displayName] : [])];
    groups.push(...names);
    if (isMapped(config, names)) {
      links[membershipLink(membership.membershipId)] = trigger.userId;
      if (group?.displayName) links[groupLink(membership.groupId)] = group.displayName;
    }
  }
  // The created membership is remembered even if a later call already removed it again.
  if (trigger.membershipId) links[membershipLink(trigger.membershipId)] = trigger.userId;
  const { profile, warnings } = profileOf(user);
  const state: IdentityEvent = { ...base, type: "user.updated", user: { ...profile, email, guest, groups } };
  const events: IdentityEvent[] =
    trigger.change === "enabled"
      ? [{ ...base, id: `${base.id}:enable`, type: "user.reactivated", user: { email, guest } }, state]
      : [state];
  return { events, warnings, subject: trigger.userId, links };
}

async function groupChanged(
  trigger: Extract<Trigger, { action: "group" }>,
  { store, config }: IdentityCenterAdapterDeps,
): Promise<Translated> {
  const readAt = Date.now();
  const group = await store.describeGroup(trigger.groupId);
  if (!group?.displayName) return { ignored: `group ${trigger.groupId} no longer exists` };
  const mappedById = Object.keys(config.groups).some((idp) => idp.trim() === group.groupId);
  return {
    events: [
      {
        // What the store says at the read, versioned then.
        id: readStampedId(trigger.eventId, readAt),
        time: new Date(readAt).toISOString(),
        source: "identity-center",
        type: "group.updated",
        // Mapped by id, the id finds the mapping and the current name is the new one; mapped by
        // name, the name finds it. CloudTrail no longer says what the name was before.
        group: {
          name: group.displayName,
          description: group.description ?? "",
          ...(mappedById ? { previousName: group.groupId } : {}),
        },
      },
    ],
    warnings: [],
    ...(isMapped(config, [group.groupId, group.displayName])
      ? { links: { [groupLink(group.groupId)]: group.displayName } }
      : {}),
  };
}

function isMapped(config: CoreConfig, names: readonly string[]): boolean {
  return names.some((n) => roleOfGroup(config, n) !== undefined || tallyfyGroupsOf(config, n).length > 0);
}

/** The primary email, else the first; only a valid address. */
function emailOf(user: IdentityStoreUser): string | undefined {
  const emails = user.Emails ?? [];
  const value = (emails.find((e) => e.Primary) ?? emails[0])?.Value?.trim();
  return value && EventUserSchema.shape.email.safeParse(value).success ? value : undefined;
}

/** The Identity Store's attributes for each Tallyfy field (idp-events.md section 9). */
function attributesOf(user: IdentityStoreUser): Record<ProfileField, unknown> {
  const phones = user.PhoneNumbers ?? [];
  const enterprise = user.Extensions?.["aws:identitystore:enterprise"] as
    | { department?: unknown }
    | undefined;
  return {
    firstName: user.Name?.GivenName,
    lastName: user.Name?.FamilyName,
    phone: (phones.find((p) => p.Primary) ?? phones[0])?.Value,
    jobTitle: user.Title,
    jobDescription: undefined,
    team: enterprise?.department,
    timezone: user.Timezone,
  };
}

function profileOf(user: IdentityStoreUser) {
  const attributes = attributesOf(user);
  return checkedProfile(
    (field) => {
      const value = attributes[field];
      return typeof value === "string" ? value : undefined;
    },
    (field) => `${field} of Identity Center user ${user.UserId}`,
  );
}
