/**
 * An Auth0 trigger -> canonical identity events.
 *
 * Whatever the event said, the user is read again from the Management API and described in full
 * (profile, blocked or not, roles and groups): every event about a user then asks for the same
 * end state, whichever arrives last, and values a log stream masked (`pii_config`) are never
 * read. A user Auth0 no longer has departs through the directory's link, not the event's claims.
 */

import { EventUserSchema, type IdentityEvent } from "../../core/identity-event.js";
import { checkedProfile } from "../../core/profile-values.js";
import type { Auth0CallOptions, Auth0Client, Auth0User } from "./client.js";
import type { Auth0Config } from "./config.js";
import type { Trigger } from "./events.js";

export type Translated =
  | { readonly ignored: string }
  | { readonly departed: { readonly subject: string; readonly id: string; readonly time: string } }
  | { readonly events: IdentityEvent[]; readonly warnings: string[]; readonly subject: string };

export interface Auth0AdapterDeps {
  readonly client: Auth0Client;
  readonly auth0: Auth0Config;
  /** The email this sync provisioned a user under (the directory's link), if it did. */
  readonly linked?: (userId: string) => Promise<string | undefined>;
}

/** Reads the user a trigger names and describes their current state. */
export async function translateAuth0Trigger(
  trigger: Extract<Trigger, { action: "read" }>,
  { client, auth0, linked }: Auth0AdapterDeps,
  opts: Auth0CallOptions = {},
): Promise<Translated> {
  const base = { id: trigger.eventId, time: trigger.time, source: "auth0" };
  const user = await client.getUser(trigger.userId, opts);
  if (!user) return { departed: { subject: trigger.userId, id: trigger.eventId, time: trigger.time } };
  if (trigger.deleted)
    return { ignored: `Auth0 still has user ${user.user_id}: the deletion is stale or forged` };
  const own = user.email?.trim();
  const valid = own !== undefined && EventUserSchema.shape.email.safeParse(own).success;
  const verified = !auth0.requireVerifiedEmail || user.email_verified === true;
  // A user this sync provisioned stays that member whatever their email is now: a block or a
  // role taken away after an email change must still count.
  const email = valid && verified ? own : await linked?.(user.user_id);
  if (!email) {
    return {
      ignored: valid
        ? `Auth0 user ${user.user_id} has not verified their email (auth0.requireVerifiedEmail)`
        : `Auth0 user ${user.user_id} has no email address`,
    };
  }
  const guest = isGuestConnection(user, auth0);
  if (user.blocked === true) {
    return {
      events: [{ ...base, type: "user.deactivated", user: { email, guest } }],
      warnings: [],
      subject: user.user_id,
    };
  }
  const roles = auth0.readRoles ? await client.listUserRoles(user.user_id, opts) : [];
  const { profile, warnings } = profileOf(user, auth0);
  const state: IdentityEvent = {
    ...base,
    type: "user.updated",
    user: {
      ...profile,
      email,
      guest,
      // Ids and names both, so the configuration may map a role by either.
      groups: [...roles.flatMap((r) => [r.id, r.name]), ...metadataGroups(user, auth0)],
    },
  };
  const events: IdentityEvent[] = trigger.unblocked
    ? [
        { ...base, id: `${trigger.eventId}:reactivate`, type: "user.reactivated", user: { email, guest } },
        state,
      ]
    : [state];
  return { events, warnings, subject: user.user_id };
}

/** The value at a dotted path of the user, e.g. `user_metadata.job_title`. */
function valueAt(user: Auth0User, path: string): unknown {
  let value: unknown = user;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function isGuestConnection(user: Auth0User, auth0: Auth0Config): boolean | undefined {
  if (auth0.guestConnections.length === 0) return undefined;
  const connections = (user.identities ?? []).map((i) => i.connection?.toLowerCase());
  // Not a guest connection: the email domain still decides, as for any other source.
  return auth0.guestConnections.some((c) => connections.includes(c.toLowerCase())) ? true : undefined;
}

function metadataGroups(user: Auth0User, auth0: Auth0Config): string[] {
  if (!auth0.groupsPath) return [];
  const value = valueAt(user, auth0.groupsPath);
  const names = Array.isArray(value) ? value : [value];
  return names.filter((n): n is string => typeof n === "string" && n.trim() !== "");
}

/** The first non-empty value of each field's paths, checked as the canonical event checks it. */
function profileOf(user: Auth0User, auth0: Auth0Config) {
  return checkedProfile(
    (field) =>
      auth0.attributes[field]
        .map((p) => valueAt(user, p))
        .find((v): v is string => typeof v === "string" && v.trim() !== ""),
    (field) => `${auth0.attributes[field].join("/")} of Auth0 user ${user.user_id}`,
  );
}
