/**
 * What a stored SCIM group change means, and how it is settled: the events of its outbox, the
 * memberships noted on the users' side, and the change marked done. Shared by the endpoint (which
 * queues the events) and the SCIM source's listing (which records them with its first page), so it
 * imports types only: the ingest and full-sync bundles need none of the endpoint's code.
 */
import type { IdentityEvent } from "../../core/identity-event.js";
import type { GroupRecord, ScimStore } from "./store.js";

/** The membership events a stored group change means (its outbox), by the SCIM id of each user. */
export async function groupChangeEvents(
  store: ScimStore,
  record: GroupRecord,
): Promise<Map<string, IdentityEvent[]>> {
  const change = record.outbox ?? { added: [], removed: [] };
  const names = namesOf(record);
  const before = change.renamedFrom ?? names;
  const kept = change.renamedFrom ? record.members.filter((m) => !change.added.includes(m)) : [];
  const users = new Map(
    (await store.users(unique([...change.added, ...change.removed, ...kept]))).map((u) => [u.id, u.email]),
  );
  const time = new Date(record.lastModified).toISOString();
  const events = new Map<string, IdentityEvent[]>();
  let count = 0;
  const add = (
    type: "group.member_added" | "group.member_removed",
    userId: string,
    groups: readonly string[],
  ) => {
    const email = users.get(userId);
    if (!email) return;
    for (const name of groups) {
      const theirs = events.get(userId) ?? [];
      events.set(userId, theirs);
      theirs.push({
        id: `scim-group-${record.id}-${record.version}-${count++}`,
        time,
        type,
        source: "scim",
        user: { email },
        group: { name },
      });
    }
  };
  for (const userId of change.removed) add("group.member_removed", userId, before);
  for (const userId of change.added) add("group.member_added", userId, names);
  for (const userId of kept) {
    add(
      "group.member_removed",
      userId,
      before.filter((n) => !names.some((m) => sameName(m, n))),
    );
    add(
      "group.member_added",
      userId,
      names.filter((n) => !before.some((m) => sameName(m, n))),
    );
  }
  return events;
}

/** Notes each membership the change makes or ends on the user's side (for a user's deletion). */
export async function noteGroupChange(store: ScimStore, record: GroupRecord): Promise<void> {
  const change = record.outbox ?? { added: [], removed: [] };
  for (const userId of change.added) await store.noteMembership(userId, record.id, true, record.version);
  for (const userId of change.removed) await store.noteMembership(userId, record.id, false, record.version);
}

/** Once its events are queued (or recorded): the change is done, or the deleted group is gone. */
export async function settleGroupChange(store: ScimStore, record: GroupRecord): Promise<void> {
  if (record.deleted) await store.deleteGroup(record);
  else await store.groupQueued(record.id, record.version);
}

/**
 * The names a group is mapped by in the configuration: its displayName, the IdP's id for it
 * (`externalId`: Entra's object id), and its id here (Okta's pushed groups have no externalId).
 */
export function namesOf({ id, resource }: Pick<GroupRecord, "id" | "resource">): string[] {
  return unique(
    [resource.displayName, resource.externalId, id].filter((n): n is string => Boolean(n?.trim())),
  );
}

export function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n) => b.some((m) => sameName(m, n)));
}

export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
