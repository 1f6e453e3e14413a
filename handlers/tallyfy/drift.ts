/**
 * Drift: what a reconcile of each person and group would change in Tallyfy, worked out from the
 * desired state and one read of Tallyfy, without writing. Full reconciliation enqueues a reconcile
 * for each drifted entity and reports the list; `plan` prints it.
 *
 * It follows the reconciler's rules (reconciler.ts) and never decides anything the reconciler
 * would not: people the directory does not manage are only reported, never planned for.
 */

import { type CoreConfig, mappedTallyfyGroups, sameGroup } from "../core/config.js";
import { letThrough } from "../core/departure-brake.js";
import {
  desiredRole,
  groupKeyOf,
  hasDeparted,
  isGuest,
  type Person,
  PROFILE_FIELDS,
  personKey,
  profileOf,
  wantsGroup,
} from "../core/desired-state.js";
import type { Group, Guest, Member } from "./schemas.js";

/** What Tallyfy has now: the three lists a drift is worked out from. */
export interface TallyfySnapshot {
  readonly members: readonly Member[];
  readonly guests: readonly Guest[];
  readonly groups: readonly Group[];
}

export type DriftAction =
  | "invite"
  | "enable"
  | "deprovision"
  | "role"
  | "profile"
  | "create-guest"
  | "group-add"
  | "group-remove";

/** One difference a reconcile would remove. */
export interface DriftChange {
  readonly entity: "person" | "group";
  /** The person's email, or the Tallyfy group's key (its id, or `name:<mapped name>`). */
  readonly key: string;
  /** The person's email, or the group's name: what a reader sees. */
  readonly name: string;
  readonly action: DriftAction;
  readonly detail: string;
  /** A departure the directory holds only because a listing left the person out. */
  readonly inferred?: boolean;
}

export interface Drift {
  readonly changes: readonly DriftChange[];
  /** Tallyfy members and guests no source knows: reported, never changed. */
  readonly unmanaged: { readonly members: readonly string[]; readonly guests: readonly string[] };
}

/**
 * The differences between the desired state of `people` and Tallyfy. `inferred` names the people
 * whose departure was inferred from a listing, so the report can tell them apart.
 */
export function computeDrift(
  config: CoreConfig,
  people: readonly (Person & { readonly memberId?: number })[],
  tallyfy: TallyfySnapshot,
  inferred: ReadonlySet<string> = new Set(),
): Drift {
  const changes: DriftChange[] = [];
  const byEmail = new Map(tallyfy.members.map((m) => [personKey(m.email), m]));
  const byId = new Map(tallyfy.members.map((m) => [m.id, m]));
  // The member id the sync recorded first: an administrator may have changed the email in Tallyfy.
  const memberOf = (p: Person & { readonly memberId?: number }) =>
    (p.memberId === undefined ? undefined : byId.get(p.memberId)) ?? byEmail.get(p.email);
  const matched = new Set(people.flatMap((p) => memberOf(p)?.id ?? []));
  const guests = new Map(tallyfy.guests.map((g) => [personKey(g.email), g]));
  const known = new Set(people.map((p) => p.email));
  const person = (p: Person, action: DriftAction, detail: string) =>
    changes.push({
      entity: "person",
      key: p.email,
      name: p.email,
      action,
      detail,
      ...(action === "deprovision" && inferred.has(p.email) ? { inferred: true } : {}),
    });

  for (const p of people) {
    const departed = hasDeparted(p, config);
    const guest = isGuest(p, config);
    const member = memberOf(p);
    const guestRecord = guests.get(p.email);
    if (departed) {
      const away = config.deprovision === "remove" ? "removed" : "disabled";
      if (member && member.status !== away)
        person(p, "deprovision", `member ${member.status ?? ""} -> ${away}`);
      else if (guestRecord && !guestRecord.disabled) person(p, "deprovision", `guest -> ${away}`);
      continue;
    }
    if (p.status?.value === "inactive" || !p.provisioned) continue;
    if (guest) {
      if (!guestRecord) person(p, "create-guest", "no guest in Tallyfy");
      else if (p.status?.value === "active" && guestRecord.disabled) person(p, "enable", "guest is disabled");
      continue;
    }
    if (!member) {
      const { firstName, lastName } = profileOf(p);
      if ((firstName && lastName) || p.mustExist) person(p, "invite", "no member in Tallyfy");
      continue;
    }
    if (p.status?.value === "active" && member.status === "disabled")
      person(p, "enable", "member is disabled");
    const role = desiredRole(p, config);
    if (role !== undefined && role !== member.role) person(p, "role", `${member.role ?? "none"} -> ${role}`);
    const profile = profileOf(p);
    const fields = PROFILE_FIELDS.filter((f) => profile[f] !== undefined && profile[f] !== member[f]);
    if (fields.length > 0) person(p, "profile", fields.join(", "));
  }

  for (const target of mappedTallyfyGroups(config)) {
    const group = tallyfy.groups.find((g) =>
      /^[0-9a-f]{32}$/i.test(target)
        ? g.id.toLowerCase() === target.toLowerCase()
        : sameGroup(g.name, target),
    );
    if (!group) continue;
    const inGroup = new Set(group.members);
    const guestsIn = new Set(group.guests.map(personKey));
    const groupChange = (action: DriftAction, email: string) =>
      changes.push({ entity: "group", key: groupKeyOf(target), name: group.name, action, detail: email });
    for (const p of people) {
      // What a reconcile would write: a departure as it is once let through the brake.
      const wanted = wantsGroup(letThrough(p), target, config);
      if (wanted === undefined) continue;
      if (isGuest(p, config)) {
        // The reconciler adds a guest only once Tallyfy has them.
        const has = guestsIn.has(p.email);
        if (wanted && !has && guests.has(p.email)) groupChange("group-add", p.email);
        if (!wanted && has) groupChange("group-remove", p.email);
        continue;
      }
      const member = memberOf(p);
      if (!member) continue;
      const has = inGroup.has(member.id);
      if (wanted && !has) groupChange("group-add", p.email);
      if (!wanted && has) groupChange("group-remove", p.email);
    }
  }

  const unmanaged = {
    members: tallyfy.members
      .filter((m) => !known.has(personKey(m.email)) && !matched.has(m.id))
      .map((m) => m.email)
      .sort(),
    guests: tallyfy.guests
      .filter((g) => !known.has(personKey(g.email)))
      .map((g) => g.email)
      .sort(),
  };
  return { changes, unmanaged };
}

/** One read of Tallyfy's three lists, each paged through to the end (reads only). */
export async function readSnapshot(client: {
  readonly members: { list(): Promise<Member[]> };
  readonly guests: { list(): Promise<Guest[]> };
  readonly groups: { list(): Promise<Group[]> };
}): Promise<TallyfySnapshot> {
  const [members, guests, groups] = [
    await client.members.list(),
    await client.guests.list(),
    await client.groups.list(),
  ];
  return { members, guests, groups };
}
