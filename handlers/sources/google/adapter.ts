/**
 * A Directory API push -> canonical identity events.
 *
 * A push carries only a stub (id and primary email) and, in a header, the event type: each is a
 * trigger to read the user from `users.get` and describe them in full as of that read (profile,
 * suspended or archived, their groups in scope). Google does not push group membership changes:
 * a user's groups are refreshed on each of their own events, and by the full reconciliation.
 */
import { type CoreConfig, roleOfGroup, tallyfyGroupsOf } from "../../core/config.js";
import { readStampedId } from "../../core/desired-state.js";
import { EventUserSchema, type IdentityEvent } from "../../core/identity-event.js";
import { checkedProfile, type ProfileField } from "../../core/profile-values.js";
import type { GoogleCallOptions, GoogleClient, GoogleGroup, GoogleUser } from "./client.js";
import type { GoogleConfig } from "./config.js";
import { type QueuedPush, userReadBody } from "./events.js";

export type Translated =
  | { readonly ignored: string }
  | { readonly departed: { readonly subject: string; readonly id: string; readonly time: string } }
  | { readonly split: { readonly body: string; readonly eventId: string }[] }
  | { readonly events: IdentityEvent[]; readonly warnings: string[]; readonly subject: string };

export interface GoogleAdapterDeps {
  readonly client: GoogleClient;
  readonly config: CoreConfig;
  readonly google: GoogleConfig;
  readonly linked?: (id: string) => Promise<string | undefined>;
  /** @default Date.now */
  readonly now?: () => number;
}

export async function translateGooglePush(
  push: QueuedPush,
  eventId: string,
  deps: GoogleAdapterDeps,
  opts: GoogleCallOptions = {},
): Promise<Translated> {
  if (push.event === "full-read") {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await deps.client.listUsersPage(deps.google.customer, token, opts);
      ids.push(...page.users.map((u) => u.id));
      token = page.next;
    } while (token);
    if (ids.length === 0) return { ignored: "a full read, but the account has no users" };
    return {
      split: ids.map((id) => ({ body: userReadBody(push.receivedAt, id), eventId: `${eventId}:${id}` })),
    };
  }
  if (!push.userId) return { ignored: "push names no user" };
  return readUser(push.userId, eventId, push.event === "undelete", deps, opts);
}

/** The user as Google has them now. */
export async function readUser(
  userId: string,
  eventId: string,
  undeleted: boolean,
  deps: GoogleAdapterDeps,
  opts: GoogleCallOptions = {},
  /** A full reconciliation's listing already holds the user. */
  listed?: GoogleUser,
): Promise<Translated> {
  const { client, google } = deps;
  const now = (deps.now ?? Date.now)();
  const time = new Date(now).toISOString();
  const user = listed ?? (await client.getUser(userId, opts));
  // Deleted: Google can no longer say who they were (the push's own email is not trusted); the link does.
  if (!user) return { departed: { subject: userId, id: eventId, time } };
  const base = { id: readStampedId(eventId, now), time, source: "google" };
  const email = isEmail(user.primaryEmail) ? user.primaryEmail : await deps.linked?.(userId);
  if (!email) return { ignored: `Google user ${userId} has no primary email` };
  if (user.suspended || user.archived) {
    return {
      events: [{ ...base, type: "user.deactivated", user: { email } }],
      warnings: [],
      subject: userId,
    };
  }
  const groups = await client.userGroups(userId, opts);
  if (google.groups.length > 0 && !inScope(google, groups)) {
    if (listed || !(await deps.linked?.(userId)))
      return { ignored: `Google user ${userId} is in none of the groups in scope` };
    return {
      events: [{ ...base, type: "user.deactivated", user: { email } }],
      warnings: [],
      subject: userId,
    };
  }
  const { profile, warnings } = profileOf(user, google);
  const names = groups.flatMap((g) => [g.id, ...(g.email ? [g.email] : []), ...(g.name ? [g.name] : [])]);
  // With adminRole set, isAdmin decides both ways: a demoted super administrator goes back to the
  // default role (role groups still outrank it), never keeps the admin role.
  const role = google.adminRole ? (user.isAdmin ? google.adminRole : deps.config.defaultRole) : undefined;
  return {
    events: [
      // Active and in scope now: a departure recorded earlier is undone (a newer read still wins).
      {
        ...base,
        id: `${base.id}:${undeleted ? "undelete" : "active"}`,
        type: "user.reactivated",
        user: { email },
      },
      {
        ...base,
        type: "user.updated",
        user: { ...profile, email, groups: names, ...(role ? { role } : {}) },
      },
    ],
    warnings,
    subject: userId,
  };
}

function inScope(google: GoogleConfig, groups: readonly GoogleGroup[]): boolean {
  const wanted = new Set(google.groups.map((g) => g.toLowerCase()));
  return groups.some(
    (g) => wanted.has(g.id.toLowerCase()) || (g.email !== undefined && wanted.has(g.email.toLowerCase())),
  );
}

export function isMapped(config: CoreConfig, names: readonly string[]): boolean {
  return names.some((n) => roleOfGroup(config, n) !== undefined || tallyfyGroupsOf(config, n).length > 0);
}

const isEmail = (value: string | undefined): value is string =>
  typeof value === "string" && EventUserSchema.shape.email.safeParse(value).success;

function customValue(user: GoogleUser, field: string | undefined): unknown {
  if (!field) return undefined;
  const [schema, name] = field.split(".");
  return user.customSchemas?.[schema ?? ""]?.[name ?? ""];
}

/** Google's attributes for each Tallyfy field (idp-events.md section 9). */
function attributesOf(user: GoogleUser, google: GoogleConfig): Record<ProfileField, unknown> {
  const phones = user.phones ?? [];
  const organizations = user.organizations ?? [];
  const organization = organizations.find((o) => o.primary) ?? organizations[0];
  return {
    firstName: user.name?.givenName,
    lastName: user.name?.familyName,
    phone: (phones.find((p) => p.primary) ?? phones.find((p) => p.type === "work") ?? phones[0])?.value,
    jobTitle: organization?.title,
    jobDescription: google.jobDescriptionField
      ? customValue(user, google.jobDescriptionField)
      : organization?.description,
    team: organization?.department,
    timezone: customValue(user, google.timezoneField),
  };
}

function profileOf(user: GoogleUser, google: GoogleConfig) {
  const attributes = attributesOf(user, google);
  return checkedProfile(
    (field) => {
      const value = attributes[field];
      return typeof value === "string" ? value : undefined;
    },
    (field) => `${field} of Google user ${user.id}`,
  );
}
